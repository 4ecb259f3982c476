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
