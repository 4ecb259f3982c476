"""The simulated cluster and a real kube-apiserver answer the same questions the same way.

Every test runs against both; the real one is the e2e tier (a kube-apiserver with the watch cache
off, so that a watch from a compacted resourceVersion answers 410 as in a long-running cluster).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from khronoscope.sim.thread import SimClusterThread
from tests.e2e.parity import Backend, Client

_ns_counter = itertools.count()


@pytest.fixture(scope="module")
def sim_backend() -> Iterator[Backend]:
    thread = SimClusterThread(scenario="quiet", bookmark_interval=1.0).start()
    user = thread.call(thread.sim.add_user, "viewer", forbidden={"configmaps", "pods"})
    try:
        yield Backend(
            "sim",
            thread.kubeconfig_path,
            user,
            compact=lambda: thread.call(thread.sim.faults.compact),
        )
    finally:
        thread.run(thread.sim.close())


@pytest.fixture(scope="module", params=["sim", pytest.param("real", marks=pytest.mark.e2e)])
def backend(request) -> Backend:
    if request.param == "sim":
        return request.getfixturevalue("sim_backend")
    server = request.getfixturevalue("kube_apiserver_nocache")
    return Backend("real", server.kubeconfig, server.kubeconfig_user, compact=server.etcd_compact)


async def fresh_namespace(api: Client) -> str:
    name = f"parity-{int(time.time())}-{next(_ns_counter)}"
    status, body = await api.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert status == 201, body
    return name


def configmap(name: str, **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }


async def test_discovery_describes_core_and_groups_alike(backend):
    async with Client(backend.kubeconfig) as api:
        assert "gitVersion" in await api.get("/version")
        assert "v1" in (await api.get("/api"))["versions"]
        core = {r["name"]: r for r in (await api.get("/api/v1"))["resources"]}
        assert core["pods"]["namespaced"] is True and core["pods"]["kind"] == "Pod"
        assert {"list", "watch", "get"} <= set(core["pods"]["verbs"])
        assert "po" in core["pods"]["shortNames"]
        assert "pods/log" in core and "pods/status" in core
        assert core["nodes"]["namespaced"] is False
        groups = {g["name"]: g for g in (await api.get("/apis"))["groups"]}
        assert groups["apps"]["preferredVersion"]["version"] == "v1"
        assert "rbac.authorization.k8s.io" in groups
        apps = {r["name"]: r for r in (await api.get("/apis/apps/v1"))["resources"]}
        assert apps["deployments"]["kind"] == "Deployment"
        assert "deploy" in apps["deployments"]["shortNames"]


async def test_list_pages_and_selectors(backend):
    async with Client(backend.kubeconfig) as api:
        ns = await fresh_namespace(api)
        path = f"/api/v1/namespaces/{ns}/configmaps"
        tiers = ["web", "web", "db", "cache", "db", "web", "batch"]
        for i, tier in enumerate(tiers):
            labels = {"tier": tier} if tier != "batch" else {"tier": tier, "job": "yes"}
            status, _ = await api.request("POST", path, configmap(f"cm-{i}", **labels))
            assert status == 201
        seen: list[str] = []
        params: dict = {"limit": 3}
        pages = 0
        while True:
            page = await api.get(path, **params)
            assert page["kind"] == "ConfigMapList"
            assert page["metadata"]["resourceVersion"]
            seen += [o["metadata"]["name"] for o in page["items"]]
            pages += 1
            token = page["metadata"].get("continue")
            if not token:
                break
            params = {"limit": 3, "continue": token}
        # every object exactly once (a namespace also gets kube-root-ca.crt from the real server)
        ours = [n for n in seen if n.startswith("cm-")]
        assert sorted(ours) == sorted(f"cm-{i}" for i in range(7)) and len(set(seen)) == len(seen)
        assert pages >= 3

        async def names(**params) -> set[str]:
            return {o["metadata"]["name"] for o in (await api.get(path, **params))["items"]} - {
                "kube-root-ca.crt"
            }

        assert await names(labelSelector="tier=web") == {"cm-0", "cm-1", "cm-5"}
        assert await names(labelSelector="tier!=web,tier") == {"cm-2", "cm-3", "cm-4", "cm-6"}
        assert await names(labelSelector="tier in (db,cache)") == {"cm-2", "cm-3", "cm-4"}
        assert await names(labelSelector="tier notin (web,db),!job") == {"cm-3"}
        assert await names(fieldSelector="metadata.name=cm-4") == {"cm-4"}
        assert await names(fieldSelector=f"metadata.namespace={ns},metadata.name!=cm-4") == {
            f"cm-{i}" for i in range(7) if i != 4
        }


async def test_watch_from_a_resource_version_sees_exactly_the_later_changes(backend):
    async with Client(backend.kubeconfig) as api:
        ns = await fresh_namespace(api)
        path = f"/api/v1/namespaces/{ns}/configmaps"
        await api.request("POST", path, configmap("before"))
        rv = (await api.get(path))["metadata"]["resourceVersion"]
        await api.request("POST", path, configmap("a"))
        status, _ = await api.request(
            "PATCH",
            f"{path}/a",
            {"data": {"k": "v2"}},
            content_type="application/merge-patch+json",
        )
        assert status == 200
        status, _ = await api.request("DELETE", f"{path}/a")
        assert status == 200
        events = []
        async for ev in api.watch(path, resourceVersion=rv, timeoutSeconds=2):
            events.append(ev)
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
        assert got == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(rvs) and rvs[0] > int(rv)
        assert events[1]["object"]["data"] == {"k": "v2"}


async def test_watch_ends_when_timeout_seconds_pass(backend):
    async with Client(backend.kubeconfig) as api:
        ns = await fresh_namespace(api)
        rv = (await api.get(f"/api/v1/namespaces/{ns}/configmaps"))["metadata"]["resourceVersion"]
        start = time.monotonic()
        async for _ in api.watch(
            f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv, timeoutSeconds=1
        ):
            pass
        assert time.monotonic() - start < 15


async def test_watch_from_a_compacted_resource_version_answers_410_expired(backend):
    async with Client(backend.kubeconfig) as api:
        ns = await fresh_namespace(api)
        path = f"/api/v1/namespaces/{ns}/configmaps"
        await api.request("POST", path, configmap("old"))
        old_rv = (await api.get(path))["metadata"]["resourceVersion"]
        for i in range(3):
            await api.request("POST", path, configmap(f"new-{i}"))
        await asyncio.to_thread(backend.compact)
        events = [ev async for ev in api.watch(path, resourceVersion=old_rv, timeoutSeconds=5)]
        assert events, "the server must say why it cannot resume"
        first = events[0]
        status = first["object"]
        # the real server answers with an ERROR event carrying a Status; either form means 410
        code = status.get("code") if first["type"] == "ERROR" else first.get("status")
        assert code == 410
        assert status.get("reason") in ("Expired", "Gone")
        assert status.get("kind") == "Status"


async def test_errors_are_status_objects(backend):
    async with Client(backend.kubeconfig) as api:
        ns = await fresh_namespace(api)
        path = f"/api/v1/namespaces/{ns}/configmaps"
        status, body = await api.request("GET", f"{path}/missing")
        assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
        await api.request("POST", path, configmap("dup"))
        status, body = await api.request("POST", path, configmap("dup"))
        assert status == 409 and body["reason"] == "AlreadyExists"
    async with Client(backend.unprivileged_kubeconfig) as user:
        status, body = await user.request("GET", "/api/v1/configmaps")
        assert status == 403 and body["kind"] == "Status" and body["reason"] == "Forbidden"
