"""Discovery documents (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/G`, `/apis/G/V`).

Shaped like kube-apiserver's legacy (non-aggregated) discovery; clients asking for aggregated
discovery get these too, with `application/json`, and fall back as with an older server.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from khronoscope.sim.registry import SUB_VERBS, Registry, ServedType

SERVER_VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-04-17T00:00:00Z",
    "goVersion": "go1.22.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# preferred version of groups that serve several (otherwise the first registered)
_PREFERRED: dict[str, str] = {}


def _hash(st: ServedType) -> str:
    digest = hashlib.sha256(f"{st.rt.group}/{st.rt.version}/{st.rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def resource_entries(st: ServedType) -> list[dict[str, Any]]:
    """The APIResource entries of one type: the type itself and its subresources."""
    rt = st.rt
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular or rt.kind.lower(),
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if not st.extra.get("metrics"):
        main["storageVersionHash"] = _hash(st)
    out = [main]
    for sub in sorted(st.subresources):
        entry: dict[str, Any] = {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(SUB_VERBS),
        }
        if sub == "log":
            entry["verbs"] = ["get"]
        elif sub == "scale":
            entry.update({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        out.append(entry)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/G/V`; None when that group/version is not served."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for st in sorted(types, key=lambda s: s.rt.plural):
        resources.extend(resource_entries(st))
    gv = f"{group}/{version}" if group else version
    doc: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = gv
    doc["resources"] = resources
    return doc


def _group_doc(name: str, versions: list[str]) -> dict[str, Any]:
    preferred = _PREFERRED.get(name, versions[0])
    return {
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{name}/{preferred}", "version": preferred},
    }


def group_list(registry: Registry) -> dict[str, Any]:
    """`/apis`."""
    groups = [_group_doc(g, vs) for g, vs in registry.groups().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    """`/apis/G`; None when the group is not served."""
    versions = registry.groups().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, versions)}


# ---- OpenAPI v3 (the little kubectl needs) ---------------------------------------------------
# kubectl apply/create/replace check whether the server validates fields itself (the
# `fieldValidation` parameter of each PATCH operation); when it does, kubectl skips its
# client-side schema validation. Schemas are not served: clients fall back to their own.

_WRITE_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
]


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_root(registry: Registry) -> dict[str, Any]:
    """`/openapi/v3`: the group/version documents and where to get them."""
    paths: dict[str, Any] = {}
    seen: set[tuple[str, str]] = set()
    for st in registry:
        gv = (st.rt.group, st.rt.version)
        if gv in seen or st.extra.get("metrics"):
            continue
        seen.add(gv)
        key = _gv_key(*gv)
        digest = hashlib.sha256(f"{key}/{registry.generation}".encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_gv(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """`/openapi/v3/apis/G/V`: one path item per resource, PATCH with its GVK and parameters."""
    types = [st for st in registry.in_group_version(group, version) if not st.extra.get("metrics")]
    if not types:
        return None
    paths: dict[str, Any] = {}
    prefix = "/" + _gv_key(group, version)
    for st in types:
        gvk = {"group": group, "version": version, "kind": st.rt.kind}
        scope = "/namespaces/{namespace}" if st.rt.namespaced else ""
        item = f"{prefix}{scope}/{st.rt.plural}/{{name}}"
        collection = f"{prefix}{scope}/{st.rt.plural}"
        op = {
            "x-kubernetes-group-version-kind": gvk,
            "parameters": _WRITE_PARAMS,
            "responses": {"200": {"description": "OK"}},
        }
        paths[item] = {
            "get": {**op, "x-kubernetes-action": "get"},
            "put": {**op, "x-kubernetes-action": "put"},
            "patch": {**op, "x-kubernetes-action": "patch"},
            "delete": {**op, "x-kubernetes-action": "delete"},
        }
        paths[collection] = {
            "get": {**op, "x-kubernetes-action": "list"},
            "post": {**op, "x-kubernetes-action": "post"},
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
