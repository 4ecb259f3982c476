"""What the cluster remembers of its past, backfilled when a session starts.

A watch sees the cluster from now on, but the objects it lists carry traces of what came before:

- a Deployment's ReplicaSets keep the pod template of each revision, created when that revision
  rolled out: reconstructed versions of the Deployment (its template and revision only);
- StatefulSets and DaemonSets keep ControllerRevisions the same way;
- Events are kept for an hour or so: each one, as it is now, has existed since its last
  occurrence (a reconstructed version at lastTimestamp; with a count above one, a mark at its
  first occurrence);
- managedFields say when each field manager last wrote (a mark per manager);
- conditions say when they last changed (a mark per condition).

Reconstructed versions go into the TemporalMap before each object's first observed version and
carry `RECONSTRUCTED_FIELD` (what they were rebuilt from); all of it goes to the provenance
store with origin `reconstructed`, which a recorder writes as RECONSTRUCTED and PROVENANCE
records. Nothing here is ever taken for observed: views style it apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from khronoscope.core.provenance import (
    RECONSTRUCTED,
    RECONSTRUCTED_FIELD,
    Provenance,
    ProvenanceStore,
)
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import parse_k8s_time
from khronoscope.core.types import ObjectKey
from khronoscope.temporal import codec
from khronoscope.temporal.map import TemporalMap

log = logging.getLogger(__name__)

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
STATEFULSETS = "statefulsets.apps"
DAEMONSETS = "daemonsets.apps"
REVISIONS = "controllerrevisions.apps"
EVENT_TYPES = ("events", "events.events.k8s.io")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
_SLICE = 200
_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Remembered:
    """One thing remembered: a reconstructed version (`obj`), or a mark (`obj` is None)."""

    t: int
    key: ObjectKey
    note: str
    obj: dict[str, Any] | None = None

    def provenance(self) -> Provenance:
        """Its provenance entry (the note is made of the cluster's strings: controls shown)."""
        note = safe_line(self.note)
        return Provenance(self.t, self.key, RECONSTRUCTED, mark=self.obj is None, note=note)


Objects = dict[ObjectKey, dict[str, Any]]


def _time(value: Any) -> int | None:
    """parse_k8s_time of a string (anything else: None), cached: the same second recurs
    across many objects."""
    return _parse_time(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=65536)
def _parse_time(value: str) -> int | None:
    return parse_k8s_time(value)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _owner_uid(obj: dict[str, Any]) -> str:
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid") or "")
    return ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _shell(owner: dict[str, Any], revision: int, template: Any, note: str) -> dict[str, Any]:
    """A reconstructed version: the owner's identity, the revision, the template, and what it
    was rebuilt from. Everything else it had then is not known, so it is not there."""
    meta = _meta(owner)
    shell_meta: dict[str, Any] = {"name": meta.get("name")}
    for field in ("namespace", "uid", "creationTimestamp"):
        if meta.get(field) is not None:
            shell_meta[field] = meta[field]
    shell_meta["annotations"] = {REVISION_ANNOTATION: str(revision)}
    return {
        "apiVersion": owner.get("apiVersion"),
        "kind": owner.get("kind"),
        "metadata": shell_meta,
        "spec": {"template": template},
        RECONSTRUCTED_FIELD: note,
    }


def _revisions(
    owners: Objects,
    children: Objects,
    revision_of: Any,
    template_of: Any,
    what: str,
    before: int,
) -> Iterator[Remembered]:
    """Versions of each owner from its children that hold a template per revision."""
    by_uid = {str(_meta(o).get("uid") or ""): key for key, o in owners.items()}
    found: dict[ObjectKey, list[tuple[int, int, str, Any]]] = {}
    for child in children.values():
        owner = by_uid.get(_owner_uid(child))
        revision = revision_of(child)
        created = _time(_meta(child).get("creationTimestamp"))
        template = template_of(child)
        if owner is None or revision is None or created is None or template is None:
            continue
        if created >= before:
            continue
        name = str(_meta(child).get("name"))
        found.setdefault(owner, []).append((created, revision, name, template))
    for key, revs in found.items():
        owner_obj = owners[key]
        revs.sort(key=lambda r: (r[0], r[1]))
        last = -1
        for created, revision, name, template in revs:
            # creation times have a resolution of a second: two revisions may share one
            t = max(created, last + 1)
            last = t
            note = f"from {what} {name} (revision {revision}): only the pod template is known"
            yield Remembered(t, key, note, _shell(owner_obj, revision, template, note))
        newest = max(revs, key=lambda r: r[1])
        if newest is not revs[-1]:
            note = (
                f"rolled back to revision {newest[1]} ({what} {newest[2]}) at a time not "
                "remembered, after this"
            )
            yield Remembered(revs[-1][0] + 1, key, note)


def _rs_revision(rs: dict[str, Any]) -> int | None:
    return _int((_meta(rs).get("annotations") or {}).get(REVISION_ANNOTATION))


def _rs_template(rs: dict[str, Any]) -> Any:
    template = (rs.get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None
    template = dict(template)
    tmeta = dict(template.get("metadata") or {})
    labels = dict(tmeta.get("labels") or {})
    labels.pop("pod-template-hash", None)  # added by the controller, not in the Deployment
    tmeta["labels"] = labels
    template["metadata"] = tmeta
    return template


def _cr_template(cr: dict[str, Any]) -> Any:
    data = cr.get("data")
    spec = data.get("spec") if isinstance(data, dict) else None
    template = spec.get("template") if isinstance(spec, dict) else None
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def rollouts(state: dict[str, Objects], before: int) -> Iterator[Remembered]:
    """Deployments from their ReplicaSets; StatefulSets and DaemonSets from their
    ControllerRevisions."""
    yield from _revisions(
        state.get(DEPLOYMENTS, {}),
        state.get(REPLICASETS, {}),
        _rs_revision,
        _rs_template,
        "ReplicaSet",
        before,
    )
    revisions = state.get(REVISIONS, {})
    for owner_type in (STATEFULSETS, DAEMONSETS):
        yield from _revisions(
            state.get(owner_type, {}),
            revisions,
            lambda cr: _int(cr.get("revision")),
            _cr_template,
            "ControllerRevision",
            before,
        )


def events(state: dict[str, Objects], before: int) -> Iterator[Remembered]:
    """Each Event as it is now, since its last occurrence; a mark at its first."""
    for type_ in EVENT_TYPES:
        for key, ev in state.get(type_, {}).items():
            series = ev.get("series") if isinstance(ev.get("series"), dict) else {}
            last = _time(
                ev.get("lastTimestamp")
                or series.get("lastObservedTime")
                or ev.get("deprecatedLastTimestamp")
                or ev.get("eventTime")
            )
            first = _time(
                ev.get("firstTimestamp")
                or ev.get("deprecatedFirstTimestamp")
                or ev.get("eventTime")
            )
            if last is None or last >= before:
                continue
            count = _int(ev.get("count") or series.get("count") or ev.get("deprecatedCount")) or 1
            note = "as it has been since its last occurrence (lastTimestamp)"
            yield Remembered(last, key, note, {**ev, RECONSTRUCTED_FIELD: note})
            if count > 1 and first is not None and first < last:
                reason = ev.get("reason") or ""
                yield Remembered(first, key, f"first occurrence of {reason} (now {count} times)")


def _top_fields(fields: Any, limit: int = 4) -> str:
    """`spec.replicas, metadata.labels` from a fieldsV1 tree (two levels, a few)."""
    out: list[str] = []
    if isinstance(fields, dict):
        for k, sub in fields.items():
            if not k.startswith("f:"):
                continue
            inner = [s[2:] for s in sub if s.startswith("f:")] if isinstance(sub, dict) else []
            if inner and len(inner) <= 2:
                out += [f"{k[2:]}.{s}" for s in inner]
            else:
                out.append(k[2:])
    shown = ", ".join(out[:limit])
    return shown + (f" +{len(out) - limit}" if len(out) > limit else "")


def traces(state: dict[str, Objects], before: int) -> Iterator[Remembered]:
    """Marks from every object: its field managers' last writes and its conditions' changes."""
    for objects in state.values():
        for key, obj in objects.items():
            for e in _meta(obj).get("managedFields") or ():
                if not isinstance(e, dict):
                    continue
                t = _time(e.get("time"))
                if t is None or t >= before:
                    continue
                sub = f" ({e['subresource']})" if e.get("subresource") else ""
                what = _top_fields(e.get("fieldsV1"))
                note = f"{e.get('manager') or '?'}{sub} last wrote" + (f": {what}" if what else "")
                yield Remembered(t, key, note)
            status = obj.get("status")
            conditions = status.get("conditions") if isinstance(status, dict) else None
            for c in conditions or ():
                if not isinstance(c, dict):
                    continue
                t = _time(c.get("lastTransitionTime"))
                if t is None or t >= before:
                    continue
                why = f" ({c['reason']})" if c.get("reason") else ""
                note = f"condition {c.get('type')} became {c.get('status')}{why}"
                yield Remembered(t, key, note)


def remember(state: dict[str, Objects], before: int) -> list[Remembered]:
    """Everything remembered in `state` (the objects listed when a session started) that is
    older than `before`."""
    with _no_gc():
        return [*rollouts(state, before), *events(state, before), *traces(state, before)]


class Applier:
    """Puts reconstructed versions before each object's first version in the map, and every
    item in the provenance store (its sinks write them), in slices for an event loop."""

    def __init__(self, tmap: TemporalMap, store: ProvenanceStore, found: Iterable[Remembered]):
        self.tmap = tmap
        self.store = store
        self.items = sorted(found, key=lambda r: (r.key, r.t))
        self.added = 0

    def steps(self) -> Iterator[None]:
        """Do it, yielding every few thousand items. The collector stays off throughout (the
        loop runs a few ms at a time in between): turned on between slices, it would scan the
        whole heap after each."""
        with _no_gc():
            bf = self.tmap.backfill()
            for r in self.items:
                if r.obj is not None:
                    bf.put_raw(r.key, r.t, codec.pack(r.obj))
            self.added = bf.commit()
            chunk = _SLICE * 10
            for start in range(0, len(self.items), chunk):
                yield
                for r in self.items[start : start + chunk]:
                    self.store.add(r.provenance(), r.obj)


def apply(tmap: TemporalMap, store: ProvenanceStore, found: Iterable[Remembered]) -> int:
    """`Applier` run straight through; returns the reconstructed versions added."""
    applier = Applier(tmap, store, found)
    for _ in applier.steps():
        pass
    return applier.added


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Many small acyclic objects at once: the cyclic collector would rescan the whole heap
    (a live session's) over and over (measured: 84 µs per mark with it on, 10 with it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SessionLike(Protocol):
    """What the backfill needs of a cluster session."""

    tmap: TemporalMap
    provenance: ProvenanceStore

    async def wait_synced(self, timeout: float | None = None) -> bool: ...
    def now(self) -> int: ...
    def notify(self) -> None: ...


async def backfill(session: SessionLike, started: int) -> int:
    """Once every type is listed: read what was listed (in slices, the loop stays free),
    remember, apply. Returns the reconstructed versions added."""
    await session.wait_synced()
    tmap = session.tmap
    t = session.now()
    state: dict[str, Objects] = {}
    n = 0
    for type_ in tmap.types():
        objects: Objects = {}
        for key in tmap.keys_at(t, type_):
            obj = tmap.get(key, t)
            first = tmap.version_times(key)
            # only what was there when the session began: the cluster's memory of before
            if obj is not None and first and first[0] >= started:
                objects[key] = obj
            n += 1
            if n % _SLICE == 0:
                await asyncio.sleep(0)
        state[type_] = objects
    # the cluster's times are to the second: only a second wholly before the start is before it
    found = await asyncio.to_thread(remember, state, started - _SECOND)
    applier = Applier(tmap, session.provenance, found)
    for _ in applier.steps():
        await asyncio.sleep(0)
    session.provenance.observed_from = started
    session.notify()
    log.info("backfilled %d reconstructed versions, %d marks", applier.added, len(found))
    return applier.added
