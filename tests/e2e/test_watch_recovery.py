"""Recovery against a real kube-apiserver: watched again at once after a restart, a new RBAC
grant picked up without waiting minutes, and a namespace-limited account told that `-n` helps."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import yaml

from khronoscope.cluster.watcher import WatchTuning
from khronoscope.core.source import TypeState
from khronoscope.core.types import ObjectKey
from tests.e2e.clusterkit import eventually, kubectl, start_session, watched_again
from tests.e2e.kube import KubeAPIServer

pytestmark = pytest.mark.e2e

RBAC = "rbac.authorization.k8s.io"
RBAC_PLURALS = ["roles", "rolebindings", "clusterroles", "clusterrolebindings"]
RBAC_TYPES = [f"{p}.{RBAC}" for p in RBAC_PLURALS]


def _tag() -> str:
    return uuid.uuid4().hex[:8]


async def _apply(server: KubeAPIServer, *objs: dict) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": list(objs)}
    await kubectl(server, "apply", "-f", "-", stdin=json.dumps(doc))


async def _delete(server: KubeAPIServer, *objs: dict) -> None:
    for obj in objs:
        md = obj["metadata"]
        scope = ["-n", md["namespace"]] if "namespace" in md else []
        kind = obj["kind"].lower() + "." + RBAC
        await asyncio.to_thread(
            server.run_kubectl, "delete", kind, md["name"], *scope, "--ignore-not-found"
        )


def _cluster_grant(name: str, resources: list[str], group: str = "") -> list[dict]:
    """A ClusterRole allowing list/watch of `resources`, bound to the unprivileged user."""
    role = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [{"apiGroups": [group], "resources": resources, "verbs": ["list", "watch"]}],
    }
    binding = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "User", "name": "kapi-user", "apiGroup": RBAC}],
    }
    return [role, binding]


async def test_a_restarted_api_server_is_watched_again_within_2s(kube_apiserver):
    server = kube_apiserver
    # the production pacing, every type: the case of `khronoscope record` left running
    session = await start_session(server.kubeconfig, WatchTuning())
    try:
        await eventually(lambda: all(w.watches for w in session.watchers()), "watches open")
        await asyncio.sleep(2.0)
        before = {w.scope: w.watches for w in session.watchers()}
        argv = await asyncio.to_thread(server.stop_apiserver)
        await asyncio.sleep(15)  # long enough for the old backoff to reach 8-16 s waits
        await asyncio.to_thread(server.start_apiserver, argv)
        ready = await asyncio.to_thread(server.wait_ready)
        await eventually(
            lambda: watched_again(session, before), "every type watched again", interval=0.02
        )
        took = time.monotonic() - ready
        assert took < 2.0, f"watched again {took:.2f} s after the API server was ready"
        name = f"after-restart-{_tag()}"
        await kubectl(server, "-n", "default", "create", "configmap", name, "--from-literal=a=1")
        key = ObjectKey("configmaps", "default", name)
        await eventually(lambda: key in session.tmap, "a change after the restart is stored")
    finally:
        await session.close()
        await asyncio.to_thread(server.wait_ready)  # the next test gets a ready server


async def test_a_grant_is_picked_up_at_once_when_rbac_is_watchable(kube_apiserver):
    server = kube_apiserver
    tag = _tag()
    reader = _cluster_grant(f"rbac-reader-{tag}", RBAC_PLURALS, RBAC)
    grant = _cluster_grant(f"cm-reader-{tag}", ["configmaps"])
    await _apply(server, *reader)
    # the slow recheck is far away: only the RBAC change can make this quick
    tuning = WatchTuning(forbidden_retry=300.0)
    session = None
    try:
        await eventually(
            lambda: server.run_kubectl("get", "clusterroles", user=True).returncode == 0,
            "the reader role is in force",
        )
        session = await start_session(
            server.kubeconfig_user, tuning, include=("configmaps", *RBAC_TYPES)
        )
        assert session.type_status()["configmaps"].state is TypeState.FORBIDDEN
        granted = time.monotonic()
        await _apply(server, *grant)
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.LIVE,
            "the granted type is watched",
            timeout=20,
            interval=0.05,
        )
        took = time.monotonic() - granted
        assert took < 5.0, f"the grant was picked up after {took:.1f} s"
    finally:
        if session is not None:
            await session.close()
        await _delete(server, *grant, *reader)


async def test_a_grant_is_picked_up_within_30s_without_any_rbac_watch(kube_apiserver):
    server = kube_apiserver
    grant = _cluster_grant(f"cm-reader-{_tag()}", ["configmaps"])
    session = await start_session(server.kubeconfig_user, WatchTuning(), include=("configmaps",))
    try:
        assert session.type_status()["configmaps"].state is TypeState.FORBIDDEN
        granted = time.monotonic()
        await _apply(server, *grant)
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.LIVE,
            "the granted type is watched",
            timeout=45,
        )
        took = time.monotonic() - granted
        assert took <= 31.0, f"the grant was picked up after {took:.1f} s"
    finally:
        await session.close()
        await _delete(server, *grant)


async def test_an_account_allowed_in_one_namespace_is_told_that_n_helps(kube_apiserver, tmp_path):
    server = kube_apiserver
    ns = f"team-{_tag()}"
    await kubectl(server, "create", "namespace", ns)
    role = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": "reader", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}],
    }
    binding = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "reader", "namespace": ns},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "User", "name": "kapi-user", "apiGroup": RBAC}],
    }
    await _apply(server, role, binding)
    doc = yaml.safe_load(Path(server.kubeconfig_user).read_text())
    doc["contexts"][0]["context"]["namespace"] = ns
    kubeconfig = tmp_path / "in-team-namespace"
    kubeconfig.write_text(yaml.safe_dump(doc))
    session = await start_session(kubeconfig, WatchTuning())
    try:
        forbidden = [n for n, s in session.type_status().items() if s.state is TypeState.FORBIDDEN]
        assert len(forbidden) > 40
        await eventually(lambda: session.scope_hint, "the hint")
        assert f"-n {ns} may help" in session.scope_hint and "pods" in session.scope_hint
    finally:
        await session.close()
        await kubectl(server, "delete", "namespace", ns, "--wait=false")
