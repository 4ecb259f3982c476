"""The simulated cluster's store: resourceVersions, consistent pagination, compaction, writes."""

from __future__ import annotations

import pytest

from khronoscope.sim.status import ApiError
from khronoscope.sim.store import Store, WriteContext


def cm(name: str, ns: str = "shop", labels: dict[str, str] | None = None, **data: str) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


@pytest.fixture
def store() -> Store:
    s = Store(seed=3)
    for ns in ("shop", "payments"):
        s.create("namespaces", {"metadata": {"name": ns}})
    return s


def names(items) -> list[str]:
    return [f"{s.obj['metadata']['namespace']}/{s.obj['metadata']['name']}" for s in items]


def test_every_write_gets_a_higher_cluster_wide_resource_version(store: Store) -> None:
    a = store.create("configmaps", cm("a"))
    b = store.create("configmaps", cm("b", "payments"))
    a2 = store.patch("configmaps", "shop", "a", {"data": {"x": "1"}})
    rvs = [int(s.obj["metadata"]["resourceVersion"]) for s in (a, b, a2)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    meta = a2.obj["metadata"]
    assert meta["uid"] == a.obj["metadata"]["uid"]
    assert meta["creationTimestamp"] == a.obj["metadata"]["creationTimestamp"]
    assert meta["managedFields"][0]["manager"] == "khronoscope-sim"
    assert store.list("configmaps").rv == store.rv


def test_create_errors(store: Store) -> None:
    store.create("configmaps", cm("a"))
    with pytest.raises(ApiError) as err:
        store.create("configmaps", cm("a"))
    assert (err.value.code, err.value.reason) == (409, "AlreadyExists")
    with pytest.raises(ApiError) as err:
        store.create("configmaps", cm("a", "nowhere"))
    assert err.value.code == 404 and 'namespaces "nowhere" not found' in err.value.message
    gen = store.create("configmaps", {"metadata": {"generateName": "x-", "namespace": "shop"}})
    assert gen.obj["metadata"]["name"].startswith("x-") and len(gen.obj["metadata"]["name"]) == 7


def test_pages_return_every_object_exactly_once_at_the_first_pages_version(store: Store) -> None:
    for i in range(25):
        store.create("configmaps", cm(f"cm-{i:02d}", "shop" if i % 2 else "payments"))
    first = store.list("configmaps", limit=10)
    expected = names(store.list("configmaps").items)
    snapshot_rv = first.rv
    seen = names(first.items)
    token = first.continue_token
    assert first.remaining == 15
    # the cluster changes between pages: later pages still show the first page's moment
    store.delete("configmaps", "shop", "cm-23")
    store.create("configmaps", cm("cm-99"))
    store.patch("configmaps", "shop", "cm-21", {"data": {"changed": "yes"}})
    while token:
        page = store.list("configmaps", limit=10, continue_token=token)
        assert page.rv == snapshot_rv
        seen += names(page.items)
        for s in page.items:
            assert "changed" not in s.obj.get("data", {})
        token = page.continue_token
    assert seen == expected
    assert len(seen) == len(set(seen)) == 25


def test_namespace_and_predicate_filtering_with_limit(store: Store) -> None:
    for i in range(12):
        store.create("configmaps", cm(f"c{i:02d}", labels={"even": str(i % 2 == 0).lower()}))
        store.create("configmaps", cm(f"c{i:02d}", "payments"))

    def even(o: dict) -> bool:
        return o["metadata"].get("labels", {}).get("even") == "true"

    seen, token = [], ""
    while True:
        page = store.list("configmaps", "shop", predicate=even, limit=4, continue_token=token)
        seen += names(page.items)
        token = page.continue_token
        if not token:
            break
    assert seen == [f"shop/c{i:02d}" for i in range(0, 12, 2)]


def test_compaction_expires_continue_tokens_and_exact_lists(store: Store) -> None:
    for i in range(6):
        store.create("configmaps", cm(f"c{i}"))
    page = store.list("configmaps", limit=2)
    old_rv = page.rv
    store.patch("configmaps", "shop", "c5", {"data": {"a": "1"}})
    assert store.list("configmaps", resource_version=str(old_rv), rv_match="Exact").rv == old_rv
    store.compact()
    with pytest.raises(ApiError) as err:
        store.list("configmaps", limit=2, continue_token=page.continue_token)
    assert (err.value.code, err.value.reason) == (410, "Expired")
    with pytest.raises(ApiError) as err:
        store.list("configmaps", resource_version=str(old_rv), rv_match="Exact")
    assert err.value.code == 410


def test_event_log_keeps_a_retained_window() -> None:
    s = Store(retain_events=10)
    s.create("namespaces", {"metadata": {"name": "shop"}})
    first = s.create("configmaps", cm("c"))
    for i in range(30):
        s.patch("configmaps", "shop", "c", {"data": {"i": str(i)}})
    ts = s.type_store("configmaps")
    assert ts.log_size() <= 13
    assert ts.dropped_rv > first.rv  # a watch from `first` would have lost events: 410
    assert [e.type for e in ts.since(ts.dropped_rv)][-1] == "MODIFIED"


def test_generation_status_subresource_and_noop_writes(store: Store) -> None:
    dep = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {}},
        "status": {"replicas": 0},
    }
    d = store.create("deployments.apps", dep)
    assert d.obj["metadata"]["generation"] == 1
    # the main resource cannot change status; the spec change bumps generation
    d2 = store.patch(
        "deployments.apps", "shop", "web", {"spec": {"replicas": 3}, "status": {"replicas": 9}}
    )
    assert d2.obj["metadata"]["generation"] == 2 and d2.obj["status"] == {"replicas": 0}
    # /status changes only status, and does not bump generation
    d3 = store.patch(
        "deployments.apps",
        "shop",
        "web",
        {"spec": {"replicas": 7}, "status": {"replicas": 3}},
        ctx=WriteContext(subresource="status"),
    )
    assert d3.obj["spec"]["replicas"] == 3 and d3.obj["status"] == {"replicas": 3}
    assert d3.obj["metadata"]["generation"] == 2
    rv = store.rv
    same = store.patch("deployments.apps", "shop", "web", {"spec": {"replicas": 3}})
    assert store.rv == rv and same.rv == d3.rv  # nothing changed: no new version, no event


def test_conflicts_and_finalizers(store: Store) -> None:
    c = store.create("configmaps", cm("c"))
    stale = {**cm("c", x="1"), "metadata": {**c.obj["metadata"]}}
    store.patch("configmaps", "shop", "c", {"data": {"y": "2"}})
    with pytest.raises(ApiError) as err:
        store.replace("configmaps", stale, namespace="shop")
    assert err.value.reason == "Conflict"
    store.patch("configmaps", "shop", "c", {"metadata": {"finalizers": ["keep"]}})
    store.delete("configmaps", "shop", "c")
    held = store.get("configmaps", "shop", "c")
    assert held is not None and held.obj["metadata"]["deletionTimestamp"]
    store.patch("configmaps", "shop", "c", {"metadata": {"finalizers": None}})
    assert store.get("configmaps", "shop", "c") is None


def test_deleting_a_namespace_deletes_its_objects(store: Store) -> None:
    store.create("configmaps", cm("a"))
    store.create("configmaps", cm("b", "payments"))
    store.delete("namespaces", "", "shop")
    assert names(store.list("configmaps").items) == ["payments/b"]
    assert store.get("namespaces", "", "shop") is None
