"""Scenarios are deterministic scripts; the default one tells the incident it promises."""

from __future__ import annotations

import pytest

import khronoscope.sim.cluster as cluster_module
from khronoscope.sim import SimCluster, SimError, get_scenario
from khronoscope.sim.scenarios import Create, Patch
from khronoscope.sim.scenarios.default import BAD_IMAGE, GOOD_IMAGE, INCIDENT


def test_same_seed_same_ops_other_seed_other_ops() -> None:
    a = list(get_scenario("default", seed=7).ops(until=300))
    b = list(get_scenario("default", seed=7).ops(until=300))
    c = list(get_scenario("default", seed=8).ops(until=300))
    assert len(a) > 1000
    assert a == b
    assert a != c
    assert [op.at for op in a] == sorted(op.at for op in a)


def test_scenario_never_stops_changing() -> None:
    tail = []
    for op in get_scenario("default").ops():
        if op.at > 1800:
            tail.append(op)
            if len(tail) == 50:
                break
    assert len(tail) == 50
    assert any(isinstance(op.action, Create | Patch) for op in tail)


def test_unknown_scenario_and_bad_options() -> None:
    with pytest.raises(SimError, match="unknown scenario 'nope'"):
        SimCluster("nope")
    with pytest.raises(SimError):
        SimCluster("scale:pods")


def _pods(sim: SimCluster, ns: str, prefix: str) -> list[dict]:
    return [p for p in sim.store.objects("pods", ns) if p["metadata"]["name"].startswith(prefix)]


def _image(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


def _ready(obj: dict) -> str:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == "Ready":
            return c["status"]
    return ""


async def test_default_scenario_incident_arc() -> None:
    sim = SimCluster("default", seed=1, autorun=False)
    await sim.advance(INCIDENT["configmap_edit"] - 1)
    assert sim.op_errors == 0
    cfg = sim.store.get("configmaps", "shop", "api-config")
    assert cfg is not None and cfg.obj["data"]["FEATURE_NEW_PRICING"] == "false"
    assert len(_pods(sim, "shop", "web-")) == 3
    assert all(_ready(p) == "True" for p in _pods(sim, "shop", ""))
    before = sim.metrics.pod_metrics(sim.store, "shop")
    await sim.advance_to(INCIDENT["configmap_edit"] + 1)
    cfg = sim.store.get("configmaps", "shop", "api-config")
    assert cfg is not None and cfg.obj["data"]["FEATURE_NEW_PRICING"] == "true"

    crashloop_restarts = 0
    while sim.offset < INCIDENT["rollback"] - 1:
        await sim.advance(1)
        for p in _pods(sim, "shop", "api-"):
            for cs in p["status"].get("containerStatuses", []):
                if cs["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff":
                    crashloop_restarts = max(crashloop_restarts, cs["restartCount"])
    assert crashloop_restarts >= 2
    bad = [p for p in _pods(sim, "shop", "api-") if _image(p) == BAD_IMAGE]
    assert len(bad) == 1
    assert "panic: invalid configuration" in "".join(
        t for _, t in sim.logs.get("shop", bad[0]["metadata"]["name"], "api").previous or []
    )
    backoff = [e for e in sim.store.objects("events", "shop") if e["reason"] == "BackOff"]
    assert backoff and backoff[0]["type"] == "Warning" and backoff[0]["count"] >= 2
    # the old replica set kept serving during the bad rollout
    assert (
        sum(_image(p) == GOOD_IMAGE and _ready(p) == "True" for p in _pods(sim, "shop", "api-"))
        == 2
    )
    checkout = sim.store.get("deployments.apps", "shop", "checkout")
    assert checkout is not None and checkout.obj["spec"]["replicas"] == 4
    hpa = sim.store.get("horizontalpodautoscalers.autoscaling", "shop", "checkout")
    assert hpa is not None and hpa.obj["status"]["desiredReplicas"] == 4
    node = sim.store.get("nodes", "", "worker-3")
    assert node is not None and _ready(node.obj) == "Unknown"
    spike = sim.metrics.pod_metrics(sim.store, "shop")

    def checkout_cpu(items: list[dict]) -> float:
        cpu = [
            int(c["usage"]["cpu"][:-1])
            for i in items
            if i["metadata"]["name"].startswith("checkout")
            for c in i["containers"]
        ]
        return sum(cpu) / len(cpu)

    assert checkout_cpu(spike) > 1.4 * checkout_cpu(before)

    await sim.advance_to(INCIDENT["recovered"] + 30)
    api = sim.store.get("deployments.apps", "shop", "api")
    assert api is not None
    assert api.obj["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD_IMAGE
    assert api.obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert api.obj["status"]["readyReplicas"] == 2
    pods = _pods(sim, "shop", "api-")
    assert [_image(p) for p in pods] == [GOOD_IMAGE, GOOD_IMAGE]
    node = sim.store.get("nodes", "", "worker-3")
    assert node is not None and _ready(node.obj) == "True"
    rv = sim.store.rv
    await sim.advance(120)
    assert sim.store.rv > rv + 20  # life goes on after the incident
    assert sim.op_errors == 0


async def test_pod_conditions_move_their_transition_time_only_when_their_status_flips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kubelet semantics; a sim that rewrote lastTransitionTime on every status write would put
    # that noise into every pod diff and field list the demo shows
    wall = [1_800_000_000 * 10**9]  # a manual wall clock, moved with the scenario
    monkeypatch.setattr(cluster_module.time, "time_ns", lambda: wall[0])
    sim = SimCluster("default", seed=1, autorun=False)
    for _ in range(int((INCIDENT["configmap_edit"] + 240) / 0.5)):
        wall[0] += 500_000_000
        await sim.advance(0.5)
    events = sim.store.type_store("pods").since(0)
    compared = 0
    for ev in events:
        if ev.type != "MODIFIED" or ev.prev is None:
            continue
        before = {c["type"]: c for c in ev.prev.obj.get("status", {}).get("conditions") or []}
        for cond in ev.obj.obj.get("status", {}).get("conditions") or []:
            old = before.get(cond["type"])
            if old is None or old["status"] != cond["status"]:
                continue
            compared += 1
            where = f"{ev.key} {cond['type']}"
            assert cond["lastTransitionTime"] == old["lastTransitionTime"], where
    assert compared > 100


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("scale:pods=-1", "option pods must be a whole number from 0 to 1000000, not '-1'"),
        ("scale:pods=abc", "option pods must be a whole number"),
        ("scale:nodes=0", "option nodes must be a whole number from 1"),
        ("scale:foo=1", "unknown option 'foo' (its options are nodes, pods, namespaces, churn)"),
        ("default:foo=1", "unknown option 'foo' (it takes no options)"),
        ("quiet:period=nan", "option period must be a number from 0 to 86400"),
    ],
)
def test_scenario_options_are_checked_when_the_scenario_is_built(spec, message) -> None:
    """Before the cluster starts serving (not in the scenario's first tick, too late)."""
    with pytest.raises(SimError) as err:
        SimCluster(spec)
    assert message in str(err.value)


def test_scenario_options_take_numbers_from_the_command_line_or_from_code() -> None:
    from khronoscope.sim.scenarios import get_scenario

    a = get_scenario("scale:pods=30,churn=5")
    b = get_scenario("scale", pods=30, churn="5")
    assert a.options == b.options == {"nodes": 50, "pods": 30, "namespaces": 20, "churn": 5}
    assert get_scenario("quiet:period=0").options == {"period": 0.0}


def _ready_and_status(obj: dict) -> tuple[str, str]:
    from khronoscope.printers import columns_for, row_for

    names = [c.name for c in columns_for("pods").columns]
    cells = row_for("pods", obj).cells
    return str(cells[names.index("READY")]), str(cells[names.index("STATUS")])


async def test_a_job_pod_is_ready_while_it_runs_then_completed() -> None:
    # as `kubectl get pods -w` shows a real Job's pod (one container, no readiness probe):
    # 1/1 Running while it runs, then 0/1 Completed; the sim showed 0/1 Running
    sim = SimCluster("default", seed=1, autorun=False)
    await sim.advance_to(200)  # the `report` CronJob runs a Job each minute from 60 s
    shown: dict[str, list[tuple[str, str]]] = {}
    last: dict[str, dict] = {}
    for ev in sim.store.type_store("pods").since(0):
        name = ev.key[-1]
        if not name.startswith("report-"):
            continue
        seen = shown.setdefault(name, [])
        row = _ready_and_status(ev.obj.obj)
        if not seen or seen[-1] != row:
            seen.append(row)
        last[name] = ev.obj.obj
    assert len(shown) >= 2
    for name, rows in shown.items():
        assert ("1/1", "Running") in rows, (name, rows)
        assert ("0/1", "Running") not in rows, (name, rows)
        assert rows[-1] == ("0/1", "Completed"), (name, rows)
        assert rows.index(("1/1", "Running")) < rows.index(("0/1", "Completed"))
        done = last[name]
        assert done["status"]["phase"] == "Succeeded"
        ready = next(c for c in done["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
