"""The simulated API server over real HTTPS: discovery, list/watch semantics, writes, errors."""

from __future__ import annotations

import asyncio
import contextlib
import time

from khronoscope.sim import SimCluster
from tests.cluster.conftest import RawClient


def cm(name: str, ns: str = "demo", **labels: str) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


async def make(client: RawClient, *objs: dict) -> None:
    for o in objs:
        status, body = await client.send(
            "POST", f"/api/v1/namespaces/{o['metadata']['namespace']}/configmaps", o
        )
        assert status == 201, body


async def test_discovery_documents(client: RawClient) -> None:
    status, version = await client.get("/version")
    assert status == 200 and version["major"] == "1" and version["gitVersion"].startswith("v1.")
    _, api = await client.get("/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _, core = await client.get("/api/v1")
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] is True and by_name["pods"]["shortNames"] == ["po"]
    assert "watch" in by_name["pods"]["verbs"] and by_name["pods"]["kind"] == "Pod"
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["nodes"]["namespaced"] is False
    _, groups = await client.get("/apis")
    assert groups["kind"] == "APIGroupList"
    names = {g["name"]: g for g in groups["groups"]}
    for group in (
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "events.k8s.io",
        "autoscaling",
        "apiextensions.k8s.io",
        "metrics.k8s.io",
    ):
        assert group in names, group
    assert names["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    _, apps = await client.get("/apis/apps/v1")
    deploy = next(r for r in apps["resources"] if r["name"] == "deployments")
    assert deploy["kind"] == "Deployment" and deploy["shortNames"] == ["deploy"]
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    _, metrics = await client.get("/apis/metrics.k8s.io/v1beta1")
    assert {r["name"]: r["verbs"] for r in metrics["resources"]} == {
        "nodes": ["get", "list"],
        "pods": ["get", "list"],
    }
    status, text = await client.get("/apis/nope.example.com/v1")
    assert status == 404 and "404 page not found" in text
    status, _ = await client.get("/api/v1/foos")
    assert status == 404


async def test_crd_created_at_runtime_is_served_and_removed(client: RawClient) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {
                "plural": "gadgets",
                "singular": "gadget",
                "kind": "Gadget",
                "shortNames": ["gd"],
            },
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
    assert (await client.get("/apis/example.com/v1"))[0] == 404
    status, body = await client.send(
        "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd
    )
    assert status == 201, body
    assert {c["type"]: c["status"] for c in body["status"]["conditions"]}["Established"] == "True"
    _, groups = await client.get("/apis")
    assert "example.com" in {g["name"] for g in groups["groups"]}
    _, res = await client.get("/apis/example.com/v1")
    assert res["resources"][0]["name"] == "gadgets" and res["resources"][0]["shortNames"] == ["gd"]
    gadget = {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": "g1", "namespace": "demo"},
        "spec": {"size": 1},
    }
    status, body = await client.send("POST", "/apis/example.com/v1/namespaces/demo/gadgets", gadget)
    assert status == 201, body
    _, listing = await client.get("/apis/example.com/v1/gadgets")
    assert listing["kind"] == "GadgetList"
    assert listing["items"][0]["kind"] == "Gadget"  # custom resources keep kind in lists
    status, _ = await client.send(
        "PATCH",
        "/apis/example.com/v1/namespaces/demo/gadgets/g1",
        {"spec": {"size": 2}},
        "application/strategic-merge-patch+json",
    )
    assert status == 415  # as for real CRDs: strategic merge is for built-in types only
    status, _ = await client.send(
        "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com", {}
    )
    assert status == 200
    assert (await client.get("/apis/example.com/v1"))[0] == 404
    assert client.sim.store.objects("gadgets.example.com") == []


async def test_list_shape_pagination_and_selectors(client: RawClient) -> None:
    await make(
        client, *(cm(f"c{i:02d}", parity="even" if i % 2 == 0 else "odd") for i in range(25))
    )
    status, full = await client.get("/api/v1/namespaces/demo/configmaps")
    assert status == 200 and full["kind"] == "ConfigMapList" and full["apiVersion"] == "v1"
    assert int(full["metadata"]["resourceVersion"]) == client.sim.store.rv
    assert (
        "kind" not in full["items"][0]
    )  # built-in list items omit kind/apiVersion, as the real one
    expected = [i["metadata"]["name"] for i in full["items"]]
    seen: list[str] = []
    token = ""
    rvs = set()
    while True:
        params = {"limit": "7"}
        if token:
            params["continue"] = token
        _, page = await client.get("/api/v1/namespaces/demo/configmaps", **params)
        seen += [i["metadata"]["name"] for i in page["items"]]
        rvs.add(page["metadata"]["resourceVersion"])
        token = page["metadata"].get("continue", "")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == len(expected) - len(seen)
        await make(client, cm(f"late-{len(seen)}"))  # changes between pages do not leak in
    assert seen == expected and len(rvs) == 1
    _, odd = await client.get("/api/v1/configmaps", labelSelector="parity in (odd),!missing")
    assert len(odd["items"]) == 12
    _, one = await client.get(
        "/api/v1/configmaps", fieldSelector="metadata.name=c03,metadata.namespace=demo"
    )
    assert [i["metadata"]["name"] for i in one["items"]] == ["c03"]
    status, err = await client.get("/api/v1/configmaps", labelSelector="parity in")
    assert status == 400 and err["kind"] == "Status" and err["reason"] == "BadRequest"
    status, err = await client.get("/api/v1/configmaps", fieldSelector="data.k=c01")
    assert status == 400 and "not a known field selector" in err["message"]
    status, err = await client.get("/api/v1/configmaps", limit="2", **{"continue": "garbage"})
    assert status == 400 and err["message"].startswith("invalid continue token")


async def test_watch_from_a_resource_version_gets_exactly_the_later_changes(
    client: RawClient,
) -> None:
    await make(client, cm("a"))
    _, listing = await client.get("/api/v1/namespaces/demo/configmaps")
    rv = listing["metadata"]["resourceVersion"]
    await make(client, cm("b"))
    await client.send(
        "PATCH",
        "/api/v1/namespaces/demo/configmaps/a",
        {"data": {"k": "2"}},
        "application/merge-patch+json",
    )
    await client.send("DELETE", "/api/v1/namespaces/demo/configmaps/b", {})
    await make(client, {**cm("elsewhere", "default")})
    events = await client.watch(
        "/api/v1/namespaces/demo/configmaps", resourceVersion=rv, timeoutSeconds="1"
    )
    got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert got == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    assert events[0]["object"]["kind"] == "ConfigMap"
    # without a resourceVersion: the current state as ADDED events first
    events = await client.watch("/api/v1/namespaces/demo/configmaps", timeoutSeconds="0.5")
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["a", "settings"]
    assert {e["type"] for e in events} == {"ADDED"}


async def test_watch_sees_changes_while_open_and_selector_transitions(client: RawClient) -> None:
    await make(client, cm("x", app="other"))
    _, listing = await client.get("/api/v1/namespaces/demo/configmaps")
    rv = listing["metadata"]["resourceVersion"]
    task = asyncio.create_task(
        client.watch(
            "/api/v1/namespaces/demo/configmaps",
            resourceVersion=rv,
            labelSelector="app=web",
            timeoutSeconds="2",
            max_events=3,
        )
    )
    await asyncio.sleep(0.3)
    path = "/api/v1/namespaces/demo/configmaps/x"
    for labels in ({"app": "web"}, {"app": "web", "v": "2"}, {"app": "gone"}):
        await client.send(
            "PATCH", path, {"metadata": {"labels": labels}}, "application/merge-patch+json"
        )
    events = await task
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]


async def test_410_after_compaction_and_bookmarks(client: RawClient) -> None:
    await make(client, cm("a"))
    old = str(client.sim.store.rv)
    await make(client, cm("b"))
    client.sim.faults.compact()
    events = await client.watch("/api/v1/namespaces/demo/configmaps", resourceVersion=old)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    code, _err = await client.get(
        "/api/v1/configmaps", resourceVersion=old, resourceVersionMatch="Exact"
    )
    assert code == 410
    # a watch from the current version is fine, and bookmarks arrive when asked for
    now = str(client.sim.store.rv)
    events = await client.watch(
        "/api/v1/namespaces/demo/configmaps",
        resourceVersion=now,
        allowWatchBookmarks="true",
        timeoutSeconds="1",
    )
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert marks and all(e["type"] == "BOOKMARK" for e in events)
    obj = marks[-1]["object"]
    assert set(obj) == {"kind", "apiVersion", "metadata"} and obj["kind"] == "ConfigMap"
    assert set(obj["metadata"]) <= {"resourceVersion", "creationTimestamp"}
    assert int(obj["metadata"]["resourceVersion"]) >= int(now)
    events = await client.watch(
        "/api/v1/namespaces/demo/configmaps", resourceVersion=now, timeoutSeconds="1"
    )
    assert events == []  # no bookmarks unless asked for


async def test_timeout_seconds_closes_the_stream(client: RawClient) -> None:
    start = time.monotonic()
    events = await client.watch(
        "/api/v1/pods", resourceVersion=str(client.sim.store.rv), timeoutSeconds="1", timeout=10
    )
    elapsed = time.monotonic() - start
    assert events == []
    assert 0.9 <= elapsed < 3.0


async def test_per_token_permissions(sim: SimCluster) -> None:
    sim.add_user("no-secrets", forbidden={"secrets"})
    sim.add_user("pods-only", allowed={"pods"})
    tokens = {u.name: u.token for u in sim.users}
    c1 = RawClient(sim, tokens["no-secrets"])
    c2 = RawClient(sim, tokens["pods-only"])
    c3 = RawClient(sim, "wrong-token")
    try:
        status, body = await c1.get("/api/v1/namespaces/demo/secrets")
        assert status == 403 and body["reason"] == "Forbidden"
        assert body["message"] == (
            'secrets is forbidden: User "no-secrets" cannot list resource "secrets" '
            'in API group "" in the namespace "demo"'
        )
        assert (await c1.get("/api/v1/configmaps"))[0] == 200
        assert (await c2.get("/api/v1/pods"))[0] == 200
        status, body = await c2.get("/apis/apps/v1/deployments")
        assert status == 403 and "at the cluster scope" in body["message"]
        status, body = await c3.get("/api/v1/pods")
        assert status == 401 and body["reason"] == "Unauthorized"
    finally:
        for c in (c1, c2, c3):
            await c.close()


async def test_faults_fail_delay_drop_and_restart(sim: SimCluster, client: RawClient) -> None:
    sim.faults.fail_next(2, status=503)
    assert (await client.get("/api/v1/pods"))[0] == 503
    status, body = await client.get("/api/v1/pods")
    assert status == 503 and body["kind"] == "Status" and body["code"] == 503
    assert (await client.get("/api/v1/pods"))[0] == 200
    sim.faults.fail_next(1, status=500, match="/configmaps")
    assert (await client.get("/api/v1/pods"))[0] == 200
    assert (await client.get("/api/v1/configmaps"))[0] == 500
    sim.faults.delay(0.3)
    start = time.monotonic()
    assert (await client.get("/api/v1/pods"))[0] == 200
    assert time.monotonic() - start >= 0.3
    sim.faults.delay(0)

    watch = asyncio.create_task(
        client.watch("/api/v1/configmaps", resourceVersion=str(sim.store.rv), timeout=10)
    )
    await asyncio.sleep(0.3)
    assert sim.faults.drop_watches() == 1
    start = time.monotonic()
    with contextlib.suppress(Exception):
        await watch
    assert time.monotonic() - start < 2

    port, rv = sim.port, sim.store.rv
    await sim.restart(downtime=0.2)
    assert sim.port == port
    status, body = await client.get("/api/v1/namespaces/demo/configmaps")
    assert status == 200 and int(body["metadata"]["resourceVersion"]) == rv


async def test_writes_conflicts_subresources_and_dry_run(client: RawClient) -> None:
    status, created = await client.send("POST", "/api/v1/namespaces/demo/configmaps", cm("w"))
    assert status == 201
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["managedFields"][0]["manager"]
    status, err = await client.send("POST", "/api/v1/namespaces/demo/configmaps", cm("w"))
    assert status == 409 and err["reason"] == "AlreadyExists"
    status, err = await client.send(
        "POST", "/api/v1/namespaces/nowhere/configmaps", cm("w", "nowhere")
    )
    assert status == 404
    stale = {**cm("w"), "metadata": {**cm("w")["metadata"], "resourceVersion": "1"}}
    status, err = await client.send("PUT", "/api/v1/namespaces/demo/configmaps/w", stale)
    assert status == 409 and err["reason"] == "Conflict"
    status, put = await client.send(
        "PUT", "/api/v1/namespaces/demo/configmaps/w", {**cm("w"), "data": {"new": "1"}}
    )
    assert status == 200 and put["data"] == {"new": "1"}
    status, patched = await client.send(
        "PATCH",
        "/api/v1/namespaces/demo/configmaps/w",
        [{"op": "add", "path": "/data/x", "value": "y"}],
        "application/json-patch+json",
    )
    assert status == 200 and patched["data"] == {"new": "1", "x": "y"}
    status, dry = await client.send(
        "PATCH",
        "/api/v1/namespaces/demo/configmaps/w",
        {"data": {"d": "1"}},
        "application/merge-patch+json",
        dryRun="All",
    )
    assert status == 200 and dry["data"]["d"] == "1"
    assert "d" not in client.sim.store.get("configmaps", "demo", "w").obj["data"]
    # pods: the main resource ignores status, /status takes it
    path = "/api/v1/namespaces/demo/pods/hello"
    _, pod = await client.send(
        "PATCH", path, {"status": {"phase": "Failed"}}, "application/merge-patch+json"
    )
    assert pod["status"]["phase"] == "Running"
    _, pod = await client.send(
        "PATCH", path + "/status", {"status": {"phase": "Failed"}}, "application/merge-patch+json"
    )
    assert pod["status"]["phase"] == "Failed"
    status, err = await client.send("PATCH", path, {"x": 1}, "text/plain")
    assert status == 415
    status, gone = await client.send("DELETE", "/api/v1/namespaces/demo/configmaps/w", {})
    assert status == 200 and gone["kind"] == "Status" and gone["status"] == "Success"
    status, err = await client.get("/api/v1/namespaces/demo/configmaps/w")
    assert status == 404 and err["message"] == 'configmaps "w" not found'


async def test_pod_logs(sim: SimCluster, client: RawClient) -> None:
    await sim.advance(90)  # three ticks of the quiet scenario
    path = "/api/v1/namespaces/demo/pods/hello/log"
    status, text = await client.get(path)
    assert status == 200
    assert text.splitlines() == [
        "hello: listening on :8080",
        "hello: tick 1",
        "hello: tick 2",
        "hello: tick 3",
    ]
    _, text = await client.get(path, tailLines="2", timestamps="true")
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].endswith(" hello: tick 3")
    stamp = lines[0].split(" ", 1)[0]
    assert len(stamp) == 30 and stamp[10] == "T" and stamp.endswith("Z")  # RFC 3339 with ns
    _, text = await client.get(path, sinceTime="2999-01-01T00:00:00Z")
    assert text == ""
    status, err = await client.get(path, container="nope")
    assert status == 400 and err["message"] == "container nope is not valid for pod hello"
    status, err = await client.get(path, previous="true")
    assert status == 400 and "previous terminated container" in err["message"]
    status, err = await client.get("/api/v1/namespaces/demo/pods/nope/log")
    assert status == 404

    async def follow() -> list[str]:
        lines: list[str] = []
        async with client.session.get(
            sim.url + path, params={"follow": "true", "tailLines": "0"}, headers=client._headers()
        ) as r:
            async for raw in r.content:
                lines.append(raw.decode().rstrip("\n"))
                if len(lines) == 2:
                    break
        return lines

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    await sim.advance(60)
    assert await asyncio.wait_for(task, 5) == ["hello: tick 4", "hello: tick 5"]


async def test_metrics_api(client: RawClient) -> None:
    status, pods = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/demo/pods")
    assert status == 200 and pods["kind"] == "PodMetricsList"
    item = pods["items"][0]
    assert item["metadata"]["name"] == "hello" and item["window"]
    usage = item["containers"][0]["usage"]
    assert usage["cpu"].endswith("n") and usage["memory"].endswith("Ki")
    _, nodes = await client.get("/apis/metrics.k8s.io/v1beta1/nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["node-1"]
    status, _ = await client.get("/apis/metrics.k8s.io/v1beta1/nodes/node-1")
    assert status == 200
    status, _ = await client.get("/apis/metrics.k8s.io/v1beta1/pods", watch="true")
    assert status == 405


async def test_events_are_served_in_both_groups(client: RawClient) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "hello.1", "namespace": "demo"},
        "involvedObject": {"kind": "Pod", "name": "hello", "namespace": "demo"},
        "reason": "Started",
        "message": "Started container hello",
        "type": "Normal",
        "source": {"component": "kubelet"},
        "count": 1,
    }
    assert (await client.send("POST", "/api/v1/namespaces/demo/events", event))[0] == 201
    _, v1 = await client.get("/apis/events.k8s.io/v1/namespaces/demo/events/hello.1")
    assert v1["apiVersion"] == "events.k8s.io/v1"
    assert v1["note"] == "Started container hello" and v1["regarding"]["name"] == "hello"
    _, core = await client.get(
        "/api/v1/namespaces/demo/events", fieldSelector="involvedObject.name=hello"
    )
    assert [e["reason"] for e in core["items"]] == ["Started"]


async def test_kubernetes_asyncio_client_lists_and_watches(sim: SimCluster) -> None:
    from kubernetes_asyncio import client, config, watch

    api_client = await config.new_client_from_config(config_file=str(sim.kubeconfig_path))
    try:
        v1 = client.CoreV1Api(api_client)
        pods = await v1.list_namespaced_pod("demo")
        assert [p.metadata.name for p in pods.items] == ["hello"]
        rv = pods.metadata.resource_version
        await sim.advance(30)  # one tick: the ConfigMap changes
        w = watch.Watch()
        seen = []
        async for event in w.stream(
            v1.list_namespaced_config_map, "demo", resource_version=rv, timeout_seconds=1
        ):
            seen.append(
                (event["type"], event["object"].metadata.name, event["object"].data["tick"])
            )
        assert seen == [("MODIFIED", "settings", "1")]
    finally:
        await api_client.close()


async def test_legacy_watch_path_of_one_object(client: RawClient) -> None:
    await make(client, cm("one"), cm("two"))
    rv = str(client.sim.store.rv)
    await client.send(
        "PATCH",
        "/api/v1/namespaces/demo/configmaps/two",
        {"data": {"k": "x"}},
        "application/merge-patch+json",
    )
    await client.send(
        "PATCH",
        "/api/v1/namespaces/demo/configmaps/one",
        {"data": {"k": "y"}},
        "application/merge-patch+json",
    )
    events = await client.watch(
        "/api/v1/watch/namespaces/demo/configmaps/one", resourceVersion=rv, timeoutSeconds="0.5"
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "one")]


async def test_generation_is_tracked_where_the_real_server_tracks_it(client: RawClient) -> None:
    _, pod = await client.get("/api/v1/namespaces/demo/pods/hello")
    assert "generation" not in pod["metadata"]
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "demo"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {}},
    }
    _, created = await client.send("POST", "/apis/apps/v1/namespaces/demo/deployments", deploy)
    assert created["metadata"]["generation"] == 1
    _, scaled = await client.send(
        "PATCH",
        "/apis/apps/v1/namespaces/demo/deployments/d/scale",
        {"spec": {"replicas": 3}},
        "application/merge-patch+json",
    )
    assert scaled["kind"] == "Scale" and scaled["spec"]["replicas"] == 3
    _, now = await client.get("/apis/apps/v1/namespaces/demo/deployments/d")
    assert now["metadata"]["generation"] == 2 and now["spec"]["replicas"] == 3


async def test_without_metrics_server_the_group_is_absent() -> None:
    sim = SimCluster("quiet", autorun=False, metrics=False)
    await sim.start()
    client = RawClient(sim)
    try:
        _, groups = await client.get("/apis")
        assert "metrics.k8s.io" not in {g["name"] for g in groups["groups"]}
        assert (await client.get("/apis/metrics.k8s.io/v1beta1/pods"))[0] == 404
    finally:
        await client.close()
        await sim.close()
