"""kubectl, an independent client, against the simulated cluster (default scenario)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from khronoscope.sim import SimClusterThread
from khronoscope.sim.scenarios.default import BAD_IMAGE, INCIDENT

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimClusterThread]:
    """The default scenario played to the middle of its incident (manual clock)."""
    with SimClusterThread(scenario="default", seed=1, autorun=False, bookmark_interval=0.5) as sim:
        sim.advance(INCIDENT["node_not_ready"] + 10)
        yield sim


def kubectl(
    sim: SimClusterThread,
    *args: str,
    stdin: str | None = None,
    timeout: float = 30,
    kubeconfig: str | None = None,
) -> subprocess.CompletedProcess[str]:
    cmd = ["kubectl", "--kubeconfig", kubeconfig or str(sim.kubeconfig_path), *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin, timeout=timeout)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_get_pods_all_namespaces_shows_the_crash_loop(cluster: SimClusterThread) -> None:
    out = ok(kubectl(cluster, "get", "pods", "-A"))
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["NAMESPACE", "NAME", "READY", "STATUS"]
    truth = {
        (p["metadata"]["namespace"], p["metadata"]["name"])
        for p in cluster.sim.store.objects("pods")
    }
    assert {(r.split()[0], r.split()[1]) for r in rows} == truth
    bad = [
        p["metadata"]["name"]
        for p in cluster.sim.store.objects("pods", "shop")
        if p["spec"]["containers"][0]["image"] == BAD_IMAGE
    ]
    cells = next(r for r in rows if bad[0] in r).split()
    assert cells[2] == "0/1" and int(cells[4]) >= 2  # never ready, restarted again and again
    assert cells[3] in ("CrashLoopBackOff", "Error", "Running")


def test_get_deploy_json_matches_the_store(cluster: SimClusterThread) -> None:
    doc = json.loads(ok(kubectl(cluster, "get", "deploy", "-n", "shop", "-o", "json")))
    assert doc["kind"] == "List"
    got = {d["metadata"]["name"]: d["spec"]["replicas"] for d in doc["items"]}
    assert got == {"api": 2, "checkout": 4, "web": 3}
    api = next(d for d in doc["items"] if d["metadata"]["name"] == "api")
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == BAD_IMAGE
    assert api["metadata"]["generation"] == 2


def test_api_resources_and_raw(cluster: SimClusterThread) -> None:
    out = ok(kubectl(cluster, "api-resources"))
    for needle in (
        "deployments",
        "widgets",
        "horizontalpodautoscalers",
        "cronjobs",
        "clusterrolebindings",
        "ingresses",
        "customresourcedefinitions",
    ):
        assert needle in out, needle
    raw = json.loads(
        ok(kubectl(cluster, "get", "--raw", "/api/v1/namespaces/shop/configmaps/api-config"))
    )
    assert raw["data"]["FEATURE_NEW_PRICING"] == "true"
    assert ok(kubectl(cluster, "get", "widgets", "-n", "shop")).split("\n")[0].split()[:3] == [
        "NAME",
        "COLOR",
        "SIZE",
    ]


def test_logs_current_and_previous(cluster: SimClusterThread) -> None:
    bad = next(
        p["metadata"]["name"]
        for p in cluster.sim.store.objects("pods", "shop")
        if p["spec"]["containers"][0]["image"] == BAD_IMAGE
    )
    previous = ok(kubectl(cluster, "-n", "shop", "logs", bad, "--previous"))
    assert "panic: invalid configuration" in previous
    web = next(
        p["metadata"]["name"]
        for p in cluster.sim.store.objects("pods", "shop")
        if p["metadata"]["name"].startswith("web-")
    )
    tail = ok(kubectl(cluster, "-n", "shop", "logs", web, "--tail=2", "--timestamps"))
    assert len(tail.splitlines()) == 2 and tail.startswith("20")


def test_watch_streams_changes(cluster: SimClusterThread) -> None:
    proc = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(cluster.kubeconfig_path),
            "get",
            "cm",
            "-n",
            "shop",
            "-w",
            "--output-watch-events",
            "--request-timeout=4s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import time

        time.sleep(1.5)
        cluster.call(
            lambda: cluster.sim.store.patch(
                "configmaps", "shop", "checkout-config", {"data": {"RETRY_LIMIT": "5"}}
            )
        )
        out, _err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    lines = [ln.split() for ln in out.splitlines()]
    assert lines[1][:2] == ["ADDED", "api-config"]
    # server-side printed rows (NAME DATA AGE) in the watch too, not just names
    assert any(ln[:3] == ["MODIFIED", "checkout-config", "3"] for ln in lines), out


def test_apply_patch_scale_delete(cluster: SimClusterThread) -> None:
    manifest = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-kubectl
  namespace: shop
data:
  a: "1"
"""
    assert "created" in ok(kubectl(cluster, "apply", "-f", "-", stdin=manifest))
    assert "configured" in ok(
        kubectl(cluster, "apply", "-f", "-", stdin=manifest.replace('"1"', '"2"'))
    )
    stored = cluster.sim.store.get("configmaps", "shop", "from-kubectl")
    assert stored is not None and stored.obj["data"] == {"a": "2"}
    managers = [m["manager"] for m in stored.obj["metadata"]["managedFields"]]
    assert "kubectl-client-side-apply" in managers
    ok(
        kubectl(
            cluster,
            "-n",
            "shop",
            "patch",
            "deploy",
            "web",
            "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}',
        )
    )
    web = cluster.sim.store.get("deployments.apps", "shop", "web")
    assert web is not None
    container = web.obj["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.26" and container["ports"][0]["containerPort"] == 8080
    ok(kubectl(cluster, "-n", "shop", "scale", "deploy", "web", "--replicas=5"))
    assert cluster.sim.store.get("deployments.apps", "shop", "web").obj["spec"]["replicas"] == 5
    ok(kubectl(cluster, "-n", "shop", "delete", "cm", "from-kubectl"))
    assert cluster.sim.store.get("configmaps", "shop", "from-kubectl") is None
    err = kubectl(cluster, "-n", "shop", "get", "cm", "from-kubectl")
    assert err.returncode == 1 and 'configmaps "from-kubectl" not found' in err.stderr


def test_top_pods_and_nodes(cluster: SimClusterThread) -> None:
    out = ok(kubectl(cluster, "top", "pods", "-n", "shop"))
    assert out.split("\n")[0].split()[:3] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert "checkout-" in out
    nodes = ok(kubectl(cluster, "top", "nodes"))
    rows = {ln.split()[0]: ln.split()[1:] for ln in nodes.splitlines()[1:]}
    assert rows["worker-1"][0].endswith("m")
    assert rows["worker-3"][0] == "<unknown>"  # worker-3 is NotReady: metrics-server has nothing


def test_forbidden_type_for_a_limited_user(cluster: SimClusterThread) -> None:
    path = cluster.add_user("viewer", forbidden={"secrets"})
    err = kubectl(cluster, "get", "secrets", "-n", "shop", kubeconfig=str(path))
    assert err.returncode == 1
    assert 'User "viewer" cannot list resource "secrets"' in err.stderr
    assert "api-config" in ok(kubectl(cluster, "get", "cm", "-n", "shop", kubeconfig=str(path)))
    denied = kubectl(
        cluster, "auth", "can-i", "list", "secrets", "-n", "shop", kubeconfig=str(path)
    )
    assert denied.returncode == 1 and denied.stdout.strip() == "no"
    allowed = kubectl(cluster, "auth", "can-i", "watch", "pods", "-n", "shop", kubeconfig=str(path))
    assert allowed.returncode == 0 and allowed.stdout.strip() == "yes"
