"""The cluster session against a real kube-apiserver (+ etcd, + kube-controller-manager)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import stat
import sys
import time
import uuid

import pytest
import yaml

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.redact import is_redacted
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.source import TypeState
from khronoscope.core.types import Change, ChangeKind, ObjectKey
from khronoscope.errors import KhronoscopeError
from tests.e2e.clusterkit import (
    FAST,
    assert_matches_server,
    eventually,
    kubectl,
    start_session,
    stored,
)

pytestmark = pytest.mark.e2e

FUTURE = 2**62


def _ns() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def _namespace(server, name: str) -> str:
    await kubectl(server, "create", "namespace", name)
    return name


def _versions(session: ClusterSession, key: ObjectKey) -> list[dict | None]:
    return [session.tmap.get(key, t) for t, _ in session.tmap.history(key)]


CHECKED = ["namespaces", "configmaps", "serviceaccounts", "clusterroles.rbac.authorization.k8s.io"]


async def test_every_listable_type_is_watched_and_matches_a_fresh_list(kube_apiserver):
    server = kube_apiserver
    ns = await _namespace(server, _ns())
    session = await start_session(server.kubeconfig)
    try:
        types = session.resource_types()
        status = session.type_status()
        # every list+watch type of the cluster, cluster-scoped ones included, one per duplicate
        assert {"pods", "nodes", "namespaces", "deployments.apps", "cronjobs.batch"} <= set(types)
        assert {"clusterroles.rbac.authorization.k8s.io", "leases.coordination.k8s.io"} <= set(
            types
        )
        assert "events" in types and "events.events.k8s.io" not in types
        assert "ingresses.networking.k8s.io" in types and "ingresses.extensions" not in types
        assert "componentstatuses" not in types  # list but no watch
        assert not any("/" in name for name in types)  # no subresources
        assert types["cronjobs.batch"].version == "v1beta1"  # served by a non-preferred version
        assert all(s.state is TypeState.LIVE for s in status.values()), status

        await kubectl(server, "-n", ns, "create", "configmap", "app", "--from-literal=a=1")
        await kubectl(server, "-n", ns, "create", "serviceaccount", "robot")
        await kubectl(server, "-n", ns, "create", "configmap", "gone", "--from-literal=a=1")
        await kubectl(server, "-n", ns, "delete", "configmap", "gone")
        await assert_matches_server(
            session,
            server,
            CHECKED,
        )
        gone = ObjectKey("configmaps", ns, "gone")
        assert [k for _, k in session.tmap.history(gone)] == [ChangeKind.ADDED, ChangeKind.DELETED]
        # stored objects look like `kubectl get -o json`, whether they came from a list or a watch
        for key in (ObjectKey("configmaps", ns, "app"), ObjectKey("namespaces", "", "default")):
            obj = session.tmap.get(key, FUTURE)
            assert obj is not None
            assert (obj["apiVersion"], obj["kind"]) in {("v1", "ConfigMap"), ("v1", "Namespace")}
        assert session.info.server_version.startswith("v1.20")
        assert session.info.context == "kapi"
    finally:
        await session.close()


async def test_no_change_made_while_connected_is_missing(kube_apiserver):
    server = kube_apiserver
    ns = await _namespace(server, _ns())
    session = await start_session(server.kubeconfig, namespaces=(ns,))
    try:
        await kubectl(server, "-n", ns, "create", "configmap", "busy", "--from-literal=n=0")
        made = []
        for i in range(1, 16):
            rv = await kubectl(
                server,
                "-n",
                ns,
                "patch",
                "configmap",
                "busy",
                "-p",
                json.dumps({"data": {"n": str(i)}}),
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            )
            made.append(rv.strip())
        key = ObjectKey("configmaps", ns, "busy")
        await eventually(
            lambda: (session.tmap.get(key, FUTURE) or {}).get("data", {}).get("n") == "15",
            "the last patch arrives",
        )
        versions = _versions(session, key)
        seen = [v["metadata"]["resourceVersion"] for v in versions if v]
        assert [rv for rv in made if rv not in seen] == []
        assert [v["data"]["n"] for v in versions if v] == [str(i) for i in range(16)]
        times = [t for t, _ in session.tmap.history(key)]
        assert times == sorted(set(times))  # strictly increasing stamps
    finally:
        await session.close()


async def test_deployment_children_created_by_the_controller_manager(kube_apiserver):
    server = kube_apiserver
    ns = await _namespace(server, _ns())
    session = await start_session(server.kubeconfig, namespaces=(ns,))
    try:
        await kubectl(
            server, "-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=2"
        )

        def pods() -> list[ObjectKey]:
            return session.tmap.keys_at(FUTURE, "pods", ns)

        await eventually(lambda: len(pods()) == 2, "two pods created by the ReplicaSet")
        rs_keys = session.tmap.keys_at(FUTURE, "replicasets.apps", ns)
        assert len(rs_keys) == 1
        rs = session.tmap.get(rs_keys[0], FUTURE)
        assert rs["metadata"]["ownerReferences"][0]["name"] == "web"
        for key in pods():
            owner = session.tmap.get(key, FUTURE)["metadata"]["ownerReferences"][0]
            assert (owner["kind"], owner["name"]) == ("ReplicaSet", rs_keys[0].name)

        await kubectl(server, "-n", ns, "scale", "deployment", "web", "--replicas=3")
        await eventually(lambda: len(pods()) == 3, "a third pod after scaling")
        deploy = ObjectKey("deployments.apps", ns, "web")
        replicas = [v["spec"]["replicas"] for v in _versions(session, deploy) if v]
        assert replicas[0] == 2 and replicas[-1] == 3

        await kubectl(server, "-n", ns, "delete", "deployment", "web")
        await eventually(lambda: not pods(), "the garbage collector deletes the pods")
        kinds = [k for _, k in session.tmap.history(deploy)]
        assert kinds[-1] is ChangeKind.DELETED
        await assert_matches_server(
            session, server, ["deployments.apps", "replicasets.apps", "pods"], ns
        )
    finally:
        await session.close()


async def test_secret_values_never_reach_the_store(kube_apiserver, tmp_path):
    server = kube_apiserver
    ns = await _namespace(server, _ns())
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": ns},
        "stringData": {"password": "hunter2-very-secret"},
    }
    await kubectl(server, "apply", "-f", "-", stdin=json.dumps(manifest))
    seen: list[Change] = []
    session = await start_session(server.kubeconfig, namespaces=(ns,))
    session.add_sink(seen.append)
    keep = await start_session(server.kubeconfig, namespaces=(ns,), keep_secret_values=True)
    try:
        manifest["stringData"]["password"] = "correct-horse-battery"
        await kubectl(server, "apply", "-f", "-", stdin=json.dumps(manifest))
        key = ObjectKey("secrets", ns, "db")
        await eventually(lambda: len(session.tmap.history(key)) == 2, "the rotation arrives")
        first, second = _versions(session, key)
        assert is_redacted(first["data"]["password"]) and is_redacted(second["data"]["password"])
        assert first["data"]["password"] != second["data"]["password"]  # a change stays visible
        annotations = second["metadata"]["annotations"]
        assert is_redacted(annotations["kubectl.kubernetes.io/last-applied-configuration"])
        dumped = json.dumps([first, second, *[c.obj for c in seen]])
        for plain in ("hunter2-very-secret", "correct-horse-battery"):
            assert plain not in dumped
            assert _b64(plain) not in dumped
        assert any(c.key == key for c in seen)

        await eventually(lambda: len(keep.tmap.history(key)) == 2, "the rotation arrives")
        kept = keep.tmap.get(key, FUTURE)
        assert kept["data"]["password"] == _b64("correct-horse-battery")
    finally:
        await session.close()
        await keep.close()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


async def test_forbidden_types_are_marked_and_the_rest_goes_on(kube_apiserver):
    server = kube_apiserver
    ns = await _namespace(server, _ns())
    await kubectl(server, "-n", ns, "create", "configmap", "visible", "--from-literal=a=1")
    session = await start_session(server.kubeconfig_user)
    try:
        status = session.type_status()
        assert status["configmaps"].state is TypeState.FORBIDDEN
        assert "403" in status["configmaps"].error and "kapi-user" in status["configmaps"].error
        assert status["pods"].state is TypeState.FORBIDDEN

        role = f"cm-reader-{ns}"
        await kubectl(
            server, "create", "clusterrole", role, "--verb=list,watch", "--resource=configmaps"
        )
        binding = ["clusterrolebinding", role, f"--clusterrole={role}", "--user=kapi-user"]
        await kubectl(server, "create", *binding)
        key = ObjectKey("configmaps", ns, "visible")
        await eventually(lambda: key in stored(session, "configmaps"), "granted type comes live")
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.LIVE, "configmaps live"
        )
        await kubectl(server, "-n", ns, "create", "configmap", "later", "--from-literal=a=1")
        await eventually(
            lambda: ObjectKey("configmaps", ns, "later") in stored(session, "configmaps"),
            "changes after the grant are watched",
        )
        assert session.type_status()["pods"].state is TypeState.FORBIDDEN
        await kubectl(server, "delete", "clusterrolebinding", role)
        await kubectl(server, "delete", "clusterrole", role)
    finally:
        await session.close()


async def test_namespace_and_type_filters(kube_apiserver):
    server = kube_apiserver
    a, b = await _namespace(server, _ns()), await _namespace(server, _ns())
    for ns in (a, b):
        await kubectl(server, "-n", ns, "create", "configmap", "x", "--from-literal=a=1")
        await kubectl(server, "-n", ns, "create", "serviceaccount", "robot")
    only_a = await start_session(server.kubeconfig, namespaces=(a,), include=("cm", "ns"))
    not_a = await start_session(
        server.kubeconfig, exclude_namespaces=(a,), exclude=("serviceaccounts", "events")
    )
    try:
        assert set(only_a.resource_types()) == {"configmaps", "namespaces"}
        assert only_a.tmap.namespaces("configmaps") == [a]
        assert "serviceaccounts" not in not_a.resource_types()
        assert "events" not in not_a.resource_types()
        assert "events.events.k8s.io" not in not_a.resource_types()  # its duplicate went too
        assert a not in not_a.tmap.namespaces("configmaps")
        assert b in not_a.tmap.namespaces("configmaps")
    finally:
        await only_a.close()
        await not_a.close()


async def test_bad_input_is_one_clear_line(kube_apiserver, tmp_path):
    server = kube_apiserver
    doc = yaml.safe_load(server.kubeconfig.read_text())
    doc["users"][0]["user"]["token"] = "expired-or-revoked"
    bad_token = tmp_path / "bad-token"
    bad_token.write_text(yaml.safe_dump(doc))
    cases = {
        "rejected the credentials (401": ClusterOptions(kubeconfig=str(bad_token)),
        "context 'nope' not found": ClusterOptions(
            kubeconfig=str(server.kubeconfig), context="nope"
        ),
        "unknown resource type 'widgets'": ClusterOptions(
            kubeconfig=str(server.kubeconfig), include=("pods", "widgets")
        ),
    }
    for expected, options in cases.items():
        with pytest.raises(KhronoscopeError) as info:
            await ClusterSession(options).start()
        assert expected in str(info.value)
        assert "\n" not in str(info.value)


async def test_exec_credentials_are_refreshed_when_they_expire(kube_apiserver, tmp_path):
    server = kube_apiserver
    calls = tmp_path / "calls"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        f"""#!{sys.executable}
import datetime, json
with open({str(calls)!r}, "a") as f:
    f.write("x")
# kubernetes_asyncio renews 5 minutes early: this credential is good for 3 more seconds
expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=303)
status = {{"token": {server.token!r}, "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}}
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential", "status": status}}))
"""
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    doc = yaml.safe_load(server.kubeconfig.read_text())
    doc["users"][0]["user"] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}
    }
    kubeconfig = tmp_path / "exec-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    before = kubeconfig.read_text()
    ns = await _namespace(server, _ns())
    # watches end every couple of seconds here, and each new request needs a valid credential
    tuning = dataclasses.replace(FAST, server_timeout=2, timeout_jitter=0)
    session = await start_session(kubeconfig, tuning, namespaces=(ns,), include=("configmaps",))
    try:
        first = len(calls.read_text())
        await asyncio.sleep(4)  # past the credential's expiry
        await kubectl(server, "-n", ns, "create", "configmap", "after", "--from-literal=a=1")
        await eventually(
            lambda: ObjectKey("configmaps", ns, "after") in stored(session, "configmaps"),
            "watching goes on past the expiry",
        )
        await eventually(lambda: len(calls.read_text()) > first, "the plugin ran again")
        assert session.type_status()["configmaps"].state is TypeState.LIVE
        assert kubeconfig.read_text() == before  # never written back
    finally:
        await session.close()


def test_kubeconfig_files_are_never_written(kube_apiserver):
    # the loader is built without a persister; a refreshed token would otherwise be saved
    mtime = os.stat(kube_apiserver.kubeconfig).st_mtime_ns

    async def run() -> None:
        session = await start_session(kube_apiserver.kubeconfig, include=("namespaces",))
        await session.conn.refresh_credentials()
        await session.close()

    asyncio.run(run())
    time.sleep(0.01)
    assert os.stat(kube_apiserver.kubeconfig).st_mtime_ns == mtime
