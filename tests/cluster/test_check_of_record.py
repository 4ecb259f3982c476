"""The check of record: after any sequence of faults, the TemporalMap's state equals the server's,
and no change the server made while the watcher could resume is missing from the history."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from khronoscope.cluster.session import ClusterSession
from khronoscope.core.source import TypeState
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.sim.cluster import SimCluster
from tests.cluster.sessionkit import assert_matches_server, configmap, eventually, start_session

NAMESPACES = ("demo", "default")


@dataclass
class ServerChange:
    """One write of the server, and whether the client must see it as such."""

    type: str
    key: ObjectKey
    rv: str
    kind: str
    prev_rv: str | None
    must_see: bool


class Workload:
    """Random ConfigMap and Secret writes, remembered with what the client owes them."""

    def __init__(self, sim: SimCluster, rng: random.Random) -> None:
        self.sim = sim
        self.rng = rng
        self.serial = 0
        self.must_see = True
        self.log: list[ServerChange] = []
        sim.store.listeners.append(self._on_event)

    def _on_event(self, type_name: str, ev) -> None:
        ns, name = ev.key
        self.log.append(
            ServerChange(
                type_name,
                ObjectKey(type_name, ns, name),
                str(ev.rv),
                ev.type,
                str(ev.prev.rv) if ev.prev is not None else None,
                self.must_see,
            )
        )

    def changes(self, n: int) -> None:
        store = self.sim.store
        for _ in range(n):
            kind = self.rng.choice(("configmaps", "secrets"))
            existing = [
                (o["metadata"]["namespace"], o["metadata"]["name"]) for o in store.objects(kind)
            ]
            existing = [k for k in existing if k[1].startswith("w-")]
            roll = self.rng.random()
            if not existing or roll < 0.35:
                self.serial += 1
                obj = configmap(f"w-{self.serial}", self.rng.choice(NAMESPACES), v="0")
                if kind == "secrets":
                    obj = {**obj, "kind": "Secret", "data": {"v": "MA=="}}
                store.create(kind, obj)
            elif roll < 0.85:
                ns, name = self.rng.choice(existing)
                value = str(self.rng.randrange(10**6))
                patch = (
                    {"data": {"v": value}} if kind == "configmaps" else {"stringData": {"v": value}}
                )
                store.patch(kind, ns, name, patch)
            else:
                ns, name = self.rng.choice(existing)
                store.delete(kind, ns, name)


WRITTEN = ("configmaps", "secrets")


async def _caught_up(session: ClusterSession, work: Workload) -> None:
    """Every write so far has reached the watchers of the written types."""

    def done() -> bool:
        for type_name in WRITTEN:
            last = max((int(c.rv) for c in work.log if c.type == type_name), default=0)
            if any(int(w.rv or 0) < last for w in session.watchers(type_name)):
                return False
        return True

    await eventually(done, "the watchers caught up")


async def _resynced(session: ClusterSession, lists: dict[str, int], compacted: int) -> None:
    """Each written type has relisted (or was already past the compaction)."""

    def done() -> bool:
        return all(
            w.state is TypeState.LIVE and (w.lists > lists[t] or int(w.rv or 0) >= compacted)
            for t in WRITTEN
            for w in session.watchers(t)
        )

    await eventually(done, "the watchers relisted after the compaction")


async def _all_live(session: ClusterSession) -> None:
    await eventually(
        lambda: all(s.state is TypeState.LIVE for s in session.type_status().values()),
        "every type is live",
    )


def _stored_rvs(session: ClusterSession, key: ObjectKey) -> list[tuple[ChangeKind, str | None]]:
    out: list[tuple[ChangeKind, str | None]] = []
    for t, kind in session.tmap.history(key):
        obj = session.tmap.get(key, t)
        out.append((kind, obj["metadata"]["resourceVersion"] if obj else None))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_any_fault_sequence_ends_equal_to_the_server(sim, seed):
    rng = random.Random(seed)
    work = Workload(sim, rng)
    work.must_see = False  # made before the session: only their end state is listed
    work.changes(10)
    session = await start_session(sim.kubeconfig_path)
    work.must_see = True
    faults_seen: list[str] = []
    try:
        for _ in range(8):
            fault = rng.choice(["drop", "graceful", "errors", "restart", "outage-410", "compact"])
            faults_seen.append(fault)
            if fault == "drop":
                sim.faults.drop_watches()
                work.changes(rng.randrange(1, 8))
            elif fault == "graceful":
                sim.faults.drop_watches(graceful=True)
                work.changes(rng.randrange(1, 8))
            elif fault == "errors":
                sim.faults.fail_next(rng.randrange(1, 6), rng.choice([500, 503, 429]))
                sim.faults.drop_watches()
                work.changes(rng.randrange(1, 8))
            elif fault == "restart":
                await sim.stop()
                work.changes(rng.randrange(1, 8))  # replayed on resume: none may be lost
                await sim.start()
            elif fault == "outage-410":
                await _caught_up(session, work)  # what was made before the outage is owed
                lists = {t: session.watchers(t)[0].lists for t in WRITTEN}
                await sim.stop()
                work.must_see = False  # coalesced into the relist: only the end state counts
                work.changes(rng.randrange(1, 8))
                compacted = sim.faults.compact()
                await sim.start()
                await _resynced(session, lists, compacted)
                work.must_see = True
            elif fault == "compact":
                await _caught_up(session, work)  # nothing left to lose
                lists = {t: session.watchers(t)[0].lists for t in WRITTEN}
                compacted = sim.faults.compact()
                # a caught-up watch of a quiet type still holds a version from before the
                # compaction: until it moves past it, a dropped watch must relist (as with a
                # real etcd), so changes made meanwhile may be coalesced
                work.must_see = False
                work.changes(rng.randrange(1, 8))
                sim.faults.drop_watches(graceful=True)  # every watch has to resume or relist
                await _resynced(session, lists, compacted)
                work.must_see = True
            if rng.random() < 0.5:
                await _all_live(session)
            work.changes(rng.randrange(0, 4))

        sim.faults.clear()
        await assert_matches_server(session, sim)
        missing = []
        for change in (c for c in work.log if c.must_see and c.type in WRITTEN):
            history = _stored_rvs(session, change.key)
            if change.kind == "DELETED":
                versions = [rv for _, rv in history]
                i = versions.index(change.prev_rv) if change.prev_rv in versions else -1
                if i < 0 or i + 1 >= len(history) or history[i + 1][0] is not ChangeKind.DELETED:
                    missing.append(change)
            elif change.rv not in {rv for _, rv in history}:
                missing.append(change)
        assert not missing, f"faults {faults_seen}: changes never stored: {missing[:5]}"
        assert sum(c.must_see for c in work.log) > 10
    finally:
        await session.close()
