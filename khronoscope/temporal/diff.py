"""Structural diff and patch of JSON-like values, and the field paths a change touched.

Used for history ("what changed"), diff views and drift; storage itself uses byte deltas
(see codec.py), which are faster to make and smaller.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str | int, ...]
# ops: ("set", path, value) and ("del", path); applied in order
Op = tuple[Any, ...]

_MISSING = object()


def diff(a: Any, b: Any) -> list[Op]:
    """Ops that turn `a` into `b` (`patch(a, diff(a, b)) == b`)."""
    ops: list[Op] = []
    _diff(a, b, (), ops)
    return ops


def _diff(a: Any, b: Any, path: Path, ops: list[Op]) -> None:
    if a is b:
        return
    if type(a) is dict and type(b) is dict:
        for k, av in a.items():
            bv = b.get(k, _MISSING)
            if bv is _MISSING:
                ops.append(("del", (*path, k)))
            else:
                _diff(av, bv, (*path, k), ops)
        for k, bv in b.items():
            if k not in a:
                ops.append(("set", (*path, k), bv))
        return
    if type(a) is list and type(b) is list and len(a) == len(b):
        for i, (av, bv) in enumerate(zip(a, b, strict=True)):
            _diff(av, bv, (*path, i), ops)
        return
    # type() comparison so that 1 and True, or 1 and 1.0, count as different
    if type(a) is not type(b) or a != b:
        ops.append(("set", path, b))


def patch(value: Any, ops: list[Op]) -> Any:
    """Apply ops made by `diff` to a copy of `value` (the input is not modified)."""
    root = _copy(value)
    for op in ops:
        path = op[1]
        if not path:
            root = _copy(op[2]) if op[0] == "set" else None
            continue
        parent = root
        for step in path[:-1]:
            parent = parent[step]
        if op[0] == "set":
            parent[path[-1]] = _copy(op[2])
        else:
            del parent[path[-1]]
    return root


def _copy(v: Any) -> Any:
    if type(v) is dict:
        return {k: _copy(x) for k, x in v.items()}
    if type(v) is list:
        return [_copy(x) for x in v]
    return v


def changed_paths(a: Any, b: Any) -> list[str]:
    """Human-readable paths of the fields that differ (`spec.containers[web].image`).

    List items that carry a unique `name` are addressed by it, as users think of containers.
    """
    out: list[str] = []
    _paths(a, b, "", out)
    return out


def _paths(a: Any, b: Any, prefix: str, out: list[str]) -> None:
    if a is b:
        return
    if type(a) is dict and type(b) is dict:
        for k in sorted(a.keys() | b.keys(), key=str):
            sub = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(sub)
            else:
                _paths(a[k], b[k], sub, out)
        return
    if type(a) is list and type(b) is list:
        an, bn = _named(a), _named(b)
        if an is not None and bn is not None:
            for name in list(an) + [n for n in bn if n not in an]:
                sub = f"{prefix}[{name}]"
                if name not in an or name not in bn:
                    out.append(sub)
                else:
                    _paths(an[name], bn[name], sub, out)
            return
        if len(a) == len(b):
            for i, (av, bv) in enumerate(zip(a, b, strict=True)):
                _paths(av, bv, f"{prefix}[{i}]", out)
            return
    if type(a) is not type(b) or a != b:
        out.append(prefix or ".")


def _named(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(type(x) is dict and isinstance(x.get("name"), str) for x in items):
        return None
    named = {x["name"]: x for x in items}
    return named if len(named) == len(items) else None
