"""What a real cluster does to a long-running watch: partitions, compaction (410), half-open
connections, CRDs appearing and vanishing. After each, the stored state equals a fresh list."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid

import pytest

from khronoscope.core.source import TypeState
from khronoscope.core.types import ChangeKind, ObjectKey
from tests.e2e.clusterkit import FAST, assert_matches_server, eventually, kubectl, start_session
from tests.e2e.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e

FUTURE = 2**62


def _ns() -> str:
    return f"f-{uuid.uuid4().hex[:8]}"


async def _proxied(server, tmp_path):
    proxy = FaultProxy(server.api_port)
    await proxy.start()
    return proxy, proxy.kubeconfig(server.kubeconfig, tmp_path / "via-proxy")


def _kinds(session, key):
    return [kind for _, kind in session.tmap.history(key)]


async def _seed(server, ns, *names):
    await kubectl(server, "create", "namespace", ns)
    for name in names:
        await kubectl(server, "-n", ns, "create", "configmap", name, "--from-literal=v=0")


async def test_410_after_compaction_relists_and_reconciles(kube_apiserver_nocache, tmp_path):
    server = kube_apiserver_nocache
    ns = _ns()
    await _seed(server, ns, "stays", "modified", "deleted")
    proxy, kubeconfig = await _proxied(server, tmp_path)
    session = await start_session(kubeconfig, namespaces=(ns,), include=("configmaps",))
    try:
        (watcher,) = session.watchers("configmaps")
        proxy.partition()
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.RETRYING,
            "the watcher notices the partition",
        )
        assert "127.0.0.1" in session.type_status()["configmaps"].error
        assert [g.type for g in session.gaps()] == ["configmaps"]  # an ongoing gap is visible
        patch = json.dumps({"data": {"v": "1"}})
        await kubectl(server, "-n", ns, "patch", "configmap", "modified", "-p", patch)
        await kubectl(server, "-n", ns, "delete", "configmap", "deleted")
        await kubectl(server, "-n", ns, "create", "configmap", "added", "--from-literal=v=0")
        server.etcd_compact()  # the resourceVersion the watcher holds is now too old
        proxy.heal()

        await assert_matches_server(session, server, ["configmaps"], ns)
        assert watcher.lists == 2  # relisted after the 410
        gap = session.gaps()[-1]
        assert gap.type == "configmaps" and "410" in gap.reason
        assert "1 added, 1 modified, 1 deleted" in gap.reason
        assert _kinds(session, ObjectKey("configmaps", ns, "deleted"))[-1] is ChangeKind.DELETED
        assert _kinds(session, ObjectKey("configmaps", ns, "added")) == [ChangeKind.ADDED]
        modified = ObjectKey("configmaps", ns, "modified")
        assert _kinds(session, modified) == [ChangeKind.ADDED, ChangeKind.MODIFIED]
        assert session.tmap.get(modified, FUTURE)["data"] == {"v": "1"}
        assert _kinds(session, ObjectKey("configmaps", ns, "stays")) == [ChangeKind.ADDED]
        # the synthesized changes sit inside the gap on the timeline
        synthesized = [t for t, _ in session.tmap.history(modified)][1]
        assert gap.start <= synthesized <= gap.end
        assert session.type_status()["configmaps"].state is TypeState.LIVE

        # and it keeps watching afterwards
        await kubectl(server, "-n", ns, "create", "configmap", "after", "--from-literal=v=0")
        await assert_matches_server(session, server, ["configmaps"], ns)
    finally:
        await session.close()
        await proxy.close()


async def test_partition_resumes_from_the_last_version_without_losing_a_change(
    kube_apiserver, tmp_path
):
    server = kube_apiserver
    ns = _ns()
    await _seed(server, ns, "counter")
    proxy, kubeconfig = await _proxied(server, tmp_path)
    session = await start_session(kubeconfig, namespaces=(ns,), include=("configmaps",))
    try:
        (watcher,) = session.watchers("configmaps")
        proxy.partition()
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.RETRYING,
            "the watcher notices the partition",
        )
        for i in (1, 2, 3):
            patch = json.dumps({"data": {"v": str(i)}})
            await kubectl(server, "-n", ns, "patch", "configmap", "counter", "-p", patch)
        proxy.heal()
        key = ObjectKey("configmaps", ns, "counter")
        await eventually(lambda: len(session.tmap.history(key)) == 4, "every missed version")
        values = [session.tmap.get(key, t)["data"]["v"] for t, _ in session.tmap.history(key)]
        assert values == ["0", "1", "2", "3"]  # replayed by the server, none lost
        assert watcher.lists == 1  # no relist was needed
        await eventually(lambda: session._gaps, "the gap closes")
        gap = session.gaps()[-1]
        assert "resumed" in gap.reason
        await assert_matches_server(session, server, ["configmaps"], ns)
    finally:
        await session.close()
        await proxy.close()


async def test_half_open_connection_does_not_hang_the_watcher(kube_apiserver, tmp_path):
    server = kube_apiserver
    ns = _ns()
    await _seed(server, ns, "first")
    proxy, kubeconfig = await _proxied(server, tmp_path)
    # the server would end this watch only after an hour: only the read timeout can save it
    tuning = dataclasses.replace(FAST, server_timeout=3600, read_timeout=3.0, connect_timeout=2.0)
    session = await start_session(kubeconfig, tuning, namespaces=(ns,), include=("configmaps",))
    errors: list[str] = []
    session.add_listener(lambda: errors.append(session.type_status()["configmaps"].error))
    try:
        (watcher,) = session.watchers("configmaps")
        await eventually(lambda: watcher.watches == 1, "the watch is open")
        proxy.stall()  # the open watch goes silent, no error, no close
        await kubectl(server, "-n", ns, "create", "configmap", "second", "--from-literal=v=0")
        proxy.heal()  # new connections work again; the stalled one stays dead
        await eventually(
            lambda: ObjectKey("configmaps", ns, "second") in session.tmap, "the change arrives"
        )
        assert any("no data from the server" in e for e in errors)
        assert any("no data from the server" in g.reason for g in session.gaps())
        await assert_matches_server(session, server, ["configmaps"], ns)
    finally:
        await session.close()
        await proxy.close()


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


async def test_crd_appearing_and_vanishing_at_runtime(kube_apiserver):
    server = kube_apiserver
    ns = _ns()
    await kubectl(server, "create", "namespace", ns)
    # the periodic rescan is far away: only the CRD's own watch event can trigger this
    session = await start_session(server.kubeconfig, rescan_interval=3600)
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": ns},
        "spec": {"size": 3},
    }
    key = ObjectKey("widgets.example.com", ns, "w1")
    try:
        assert "widgets.example.com" not in session.resource_types()
        await kubectl(server, "apply", "-f", "-", stdin=json.dumps(CRD))
        await eventually(
            lambda: session.type_status().get("widgets.example.com"), "the new type is watched"
        )
        await eventually(lambda: _created(server, widget), "the API accepts widgets")
        await eventually(lambda: key in session.tmap, "the custom resource is recorded")
        assert session.tmap.get(key, FUTURE)["spec"] == {"size": 3}
        assert session.type_status()["widgets.example.com"].state is TypeState.LIVE

        await kubectl(server, "delete", "crd", "widgets.example.com")
        await eventually(
            lambda: session.type_status()["widgets.example.com"].state is TypeState.GONE,
            "the type is marked gone",
        )
        assert _kinds(session, key)[-1] is ChangeKind.DELETED
        assert "no longer served" in session.type_status()["widgets.example.com"].error
        others = {n: s for n, s in session.type_status().items() if n != "widgets.example.com"}
        assert all(s.state is TypeState.LIVE for s in others.values())

        # it can come back
        await kubectl(server, "apply", "-f", "-", stdin=json.dumps(CRD))
        await eventually(
            lambda: session.type_status()["widgets.example.com"].state is TypeState.LIVE,
            "the type is watched again",
        )
        await eventually(lambda: _created(server, widget), "the API accepts widgets again")
        await eventually(lambda: len(session.tmap.history(key)) == 3, "the widget is back")
        await assert_matches_server(session, server, ["widgets.example.com"])
    finally:
        await session.close()
        await kubectl(server, "delete", "crd", "widgets.example.com", "--ignore-not-found")


async def _created(server, obj) -> bool:
    proc = await asyncio.to_thread(server.run_kubectl, "apply", "-f", "-", input=json.dumps(obj))
    return proc.returncode == 0
