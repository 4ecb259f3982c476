"""The three PATCH flavours the API server accepts, on plain JSON values.

- `merge_patch`: RFC 7386 JSON merge patch (`application/merge-patch+json`).
- `strategic_merge_patch`: Kubernetes strategic merge for the common cases
  (`application/strategic-merge-patch+json`): lists of containers, env, ports, volumes,
  conditions... merge by key; `$patch: delete|replace`, `$retainKeys`, `$setElementOrder/x`,
  `$deleteFromPrimitiveList/x` directives. Unknown lists are replaced, as for atomic lists.
- `json_patch`: RFC 6902 (`application/json-patch+json`).

Every function returns a new value and never mutates its inputs (the result may share
unchanged parts with them: treat all of them as immutable).
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied (served as 422 or 400)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = value
    return result


# Merge keys of the lists that strategic merge patch merges element-wise (from the Go structs'
# `patchMergeKey` tags). `ports` depends on the list: containerPort in containers, port in services.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "taints": "key",
    "addresses": "type",
    "topologySpreadConstraints": "topologyKey",
    "readinessGates": "conditionType",
    "resourceClaims": "name",
}
# lists of scalars with patchStrategy merge: union instead of replace
MERGE_PRIMITIVE_LISTS = frozenset({"finalizers"})


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        for item in items:
            if isinstance(item, dict):
                if "containerPort" in item:
                    return "containerPort"
                if "port" in item:
                    return "port"
        return "port"
    return MERGE_KEYS.get(field)


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to `target` (a JSON object)."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _smp_map(target if isinstance(target, dict) else {}, patch)


def _smp_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch type: {directive} in map: {patch}")
    result = dict(target)
    orders: dict[str, list[Any]] = {}
    retain: list[str] | None = None
    for key, value in patch.items():
        if key == "$patch":
            continue
        if key == "$retainKeys":
            retain = list(value or [])
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = list(value or [])
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = set(_hashable(v) for v in value or [])
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if _hashable(v) not in drop]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp_map(result.get(key) if isinstance(result.get(key), dict) else {}, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _smp_list(key, result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    if retain is not None:
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _hashable(v: Any) -> Any:
    return repr(v) if isinstance(v, dict | list) else v


def _smp_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current_list = current if isinstance(current, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in MERGE_PRIMITIVE_LISTS and all(not isinstance(i, dict | list) for i in patch):
        out = list(current_list)
        for item in patch:
            if item not in out:
                out.append(item)
        return out
    key = _merge_key(field, patch + current_list)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy(patch)
    out = [copy.deepcopy(i) for i in current_list]
    index = {i.get(key): n for n, i in enumerate(out) if isinstance(i, dict)}
    deleted: set[Any] = set()
    for item in patch:
        ident = item.get(key)
        if item.get("$patch") == "delete":
            deleted.add(ident)
            continue
        if ident in index:
            merged = _smp_map(out[index[ident]], item)
            out[index[ident]] = merged if merged is not None else out[index[ident]]
        else:
            new = _smp_map({}, item)
            if new is not None:
                index[ident] = len(out)
                out.append(new)
    if deleted:
        out = [i for i in out if not (isinstance(i, dict) and i.get(key) in deleted)]
    return out


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    if not order:
        return items
    if all(isinstance(o, dict) for o in order):
        key = _merge_key(field, items + order)
        if key is None:
            return items
        rank = {o.get(key): n for n, o in enumerate(order)}
        pos = lambda i: rank.get(i.get(key) if isinstance(i, dict) else None, len(rank))  # noqa: E731
    else:
        rank = {_hashable(o): n for n, o in enumerate(order)}
        pos = lambda i: rank.get(_hashable(i), len(rank))  # noqa: E731
    return sorted(items, key=pos)


# --- RFC 6902 -------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str]) -> tuple[Any, str]:
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, dict):
            if part not in cur:
                raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                raise PatchError(f"doc is missing path: /{'/'.join(parts)}") from None
        else:
            raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
    return cur, parts[-1]


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _resolve(doc, parts)
    try:
        return parent[last] if isinstance(parent, dict) else parent[int(last)]
    except (KeyError, ValueError, IndexError, TypeError):
        raise PatchError(f"doc is missing path: /{'/'.join(parts)}") from None


def _remove(doc: Any, parts: list[str]) -> Any:
    parent, last = _resolve(doc, parts)
    try:
        if isinstance(parent, dict):
            return parent.pop(last)
        return parent.pop(int(last))
    except (KeyError, ValueError, IndexError, TypeError):
        raise PatchError(f"unable to remove nonexistent key: {last}: missing value") from None


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _resolve(doc, parts)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError(f"invalid array index {last!r}") from None
            if i < 0 or i > len(parent):
                raise PatchError(f"add operation does not apply: index {i} out of bounds")
            parent.insert(i, value)
    else:
        raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902: apply a list of add/remove/replace/move/copy/test operations."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            if not parts:
                doc = copy.deepcopy(op.get("value"))
                continue
            _get(doc, parts)
            parent, last = _resolve(doc, parts)
            if isinstance(parent, dict):
                parent[last] = copy.deepcopy(op.get("value"))
            else:
                parent[int(last)] = copy.deepcopy(op.get("value"))
        elif kind == "move":
            value = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, value)
        elif kind == "copy":
            doc = _add(doc, parts, copy.deepcopy(_get(doc, _pointer(op["from"]))))
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise PatchError(f"testing value {op['path']} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc
