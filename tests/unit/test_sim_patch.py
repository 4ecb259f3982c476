"""JSON merge patch, strategic merge patch and JSON patch as the API server applies them."""

from __future__ import annotations

import copy

import pytest

from khronoscope.sim.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

POD = {
    "metadata": {"name": "p", "labels": {"app": "api", "tier": "be"}, "finalizers": ["a"]},
    "spec": {
        "containers": [
            {
                "name": "api",
                "image": "api:1",
                "env": [{"name": "A", "value": "1"}],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            },
            {"name": "sidecar", "image": "envoy:1"},
        ],
        "tolerations": [{"key": "x", "operator": "Exists"}],
    },
}


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    before = copy.deepcopy(POD)
    out = merge_patch(
        POD,
        {
            "metadata": {"labels": {"tier": None, "new": "1"}},
            "spec": {"containers": [{"name": "only"}]},
        },
    )
    assert out["metadata"]["labels"] == {"app": "api", "new": "1"}
    assert out["spec"]["containers"] == [{"name": "only"}]
    assert before == POD  # inputs are never mutated


def test_strategic_merge_merges_containers_env_and_ports_by_key() -> None:
    out = strategic_merge_patch(
        POD,
        {
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "api:2",
                        "env": [{"name": "B", "value": "2"}],
                        "ports": [{"containerPort": 9090}],
                    },
                ]
            }
        },
    )
    api, sidecar = out["spec"]["containers"]
    assert api["image"] == "api:2"
    assert api["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert [p["containerPort"] for p in api["ports"]] == [8080, 9090]
    assert sidecar == {"name": "sidecar", "image": "envoy:1"}


def test_strategic_merge_directives() -> None:
    out = strategic_merge_patch(
        POD,
        {
            "metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {
                "containers": [{"name": "sidecar", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "api"}],
                "tolerations": [{"key": "y", "operator": "Exists"}],  # no merge key: replaced
            },
        },
    )
    assert out["metadata"]["finalizers"] == ["b"]
    assert [c["name"] for c in out["spec"]["containers"]] == ["api"]
    assert out["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]
    replaced = strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "replace", "x": "1"}}})
    assert replaced["metadata"]["labels"] == {"x": "1"}
    retained = strategic_merge_patch(POD, {"spec": {"$retainKeys": ["containers"]}})
    assert set(retained["spec"]) == {"containers"}


def test_json_patch_operations_and_failed_test() -> None:
    out = json_patch(
        POD,
        [
            {"op": "replace", "path": "/spec/containers/0/image", "value": "api:3"},
            {"op": "add", "path": "/metadata/labels/x~1y", "value": "1"},
            {"op": "remove", "path": "/spec/containers/1"},
            {"op": "copy", "from": "/metadata/name", "path": "/metadata/generateName"},
            {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/layer"},
            {"op": "add", "path": "/metadata/finalizers/-", "value": "z"},
        ],
    )
    assert out["spec"]["containers"][0]["image"] == "api:3"
    assert len(out["spec"]["containers"]) == 1
    assert out["metadata"]["labels"] == {"app": "api", "x/y": "1", "layer": "be"}
    assert out["metadata"]["generateName"] == "p"
    assert out["metadata"]["finalizers"] == ["a", "z"]
    with pytest.raises(PatchError, match="test failed"):
        json_patch(POD, [{"op": "test", "path": "/metadata/name", "value": "q"}])
    with pytest.raises(PatchError):
        json_patch(POD, [{"op": "remove", "path": "/metadata/nope"}])
