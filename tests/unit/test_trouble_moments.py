"""Which changes are trouble moments: a pod starting up is not one; a pod that loses readiness,
crashes or restarts is."""

from __future__ import annotations

from typing import Any

from khronoscope.core.timefmt import NS
from khronoscope.core.types import ObjectKey
from khronoscope.printers import row_for
from khronoscope.temporal import TemporalMap
from khronoscope.tui.trouble import TroubleScope, next_trouble, previous_trouble
from tests.testing import objects

T0 = 1_800_000_000 * NS
KEY = ObjectKey("pods", "shop", "api-1")


def _pod(state: str, *, ready: bool | None = None, restarts: int = 0) -> dict[str, Any]:
    phase = {"pending": "Pending", "creating": "Pending"}.get(state, "Running")
    obj = objects.pod(
        KEY.name,
        KEY.namespace,
        T0,
        node_name="node-1",
        phase=phase,
        state=state,
        restarts=restarts,
    )
    if ready is not None:
        obj["status"]["containerStatuses"][0]["ready"] = ready
    return obj


def _map(*versions: dict[str, Any]) -> TemporalMap:
    m = TemporalMap(row_fn=row_for)
    for i, obj in enumerate(versions):
        m.put(KEY, T0 + i * 10 * NS, obj)
    return m


SCOPE = TroubleScope(("pods",), None)


def test_a_pod_starting_up_is_not_trouble():
    # Pending -> ContainerCreating -> Running 0/1 (readiness probe not passed yet) -> Ready
    m = _map(_pod("pending"), _pod("creating"), _pod("running", ready=False), _pod("running"))
    assert next_trouble(m, T0 - 1, SCOPE) is None
    assert previous_trouble(m, T0 + 100 * NS, SCOPE) is None


def test_a_ready_pod_losing_readiness_is_trouble():
    m = _map(_pod("creating"), _pod("running"), _pod("running", ready=False))
    found = next_trouble(m, T0 - 1, SCOPE)
    assert found is not None and found.t == T0 + 20 * NS and found.key == KEY
    assert found.what == "not Ready (0/1)"


def test_a_pod_that_never_gets_ready_after_a_crash_is_trouble():
    # a crash (a restart) counts even when the pod was never Ready
    m = _map(
        _pod("creating"),
        _pod("running", ready=False),
        _pod("crashloop", restarts=1),
        _pod("running", ready=False, restarts=1),
    )
    found = next_trouble(m, T0 - 1, SCOPE)
    assert found is not None and found.t == T0 + 20 * NS
    assert found.what.startswith("CrashLoopBackOff")


def test_a_job_pod_completing_is_not_trouble():
    # Running 1/1 -> Completed 0/1: the pod lost readiness because it succeeded
    completed = _pod("completed")
    completed["status"]["phase"] = "Succeeded"
    m = _map(_pod("creating"), _pod("running"), completed)
    assert row_for("pods", completed).cells[:2] == ("0/1", "Completed")
    assert next_trouble(m, T0 - 1, SCOPE) is None


async def test_the_demos_job_pods_are_ready_and_never_trouble():
    # the simulated `report` Job pods are 1/1 Running, then 0/1 Completed; `x` / `X` in the demo
    # step over them (and still stop at the incident: the node outage, the crash loop)
    from khronoscope.sim import SimCluster

    sim = SimCluster("default", seed=1, autorun=False)
    await sim.advance_to(400)
    m = TemporalMap(row_fn=row_for)
    for ev in sim.store.type_store("pods").since(0):
        ns, name = ev.key
        key, t = ObjectKey("pods", ns, name), T0 + ev.rv * NS // 1000
        if ev.type == "DELETED":
            m.delete(key, t)
        else:
            m.put(key, t, ev.obj.obj)
    report = [k for k in m.keys_at(m.last_t, "pods") if k.name.startswith("report-")]
    assert report
    for k in report:  # READY, STATUS
        assert m.row(k, m.last_t).cells[:2] in (("1/1", "Running"), ("0/1", "Completed"))
        assert ("1/1", "Running") in {m.row(k, t).cells[:2] for t, _kind in m.history(k)}
    moments = []
    t = T0 - 1
    while (found := next_trouble(m, t, SCOPE)) is not None:
        moments.append(found)
        t = found.t
    assert any(f.key.namespace == "shop" and "CrashLoopBackOff" in f.what for f in moments)
    assert not [f for f in moments if f.key.name.startswith("report-")]
