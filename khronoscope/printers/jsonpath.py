"""The small JSONPath subset CRD printer columns use: `.spec.size`, `.items[0].name`,
`.status.conditions[?(@.type=="Ready")].status`, `.spec.hosts[*]`.

Compiled once per column and evaluated on plain dicts; anything outside the subset compiles to a
path that finds nothing (the cell then prints empty), never an exception at ingest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Step = Callable[[list[Any]], list[Any]]

_FILTER = re.compile(r"""^\?\(@\.([\w.\-/]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([\w.\-]+))\)$""")


class JSONPathError(ValueError):
    """A JSONPath outside the supported subset."""


def compile_path(path: str) -> Callable[[Any], list[Any]]:
    """Compile a JSONPath to a function returning every value it finds (maybe none)."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps = _parse(text)

    def evaluate(obj: Any) -> list[Any]:
        values = [obj]
        for step in steps:
            values = step(values)
            if not values:
                return values
        return values

    return evaluate


def _parse(text: str) -> list[Step]:
    steps: list[Step] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == ".":
            i += 1
            start = i
            buf: list[str] = []
            while i < n and text[i] not in ".[":
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                    continue
                buf.append(text[i])
                i += 1
            name = "".join(buf)
            if not name:
                if start == n:
                    break
                raise JSONPathError(f"empty field in {text!r}")
            steps.append(_field(name))
        elif c == "[":
            end = _closing(text, i)
            steps.append(_bracket(text[i + 1 : end].strip()))
            i = end + 1
        else:
            # a path without a leading dot (`spec.size`): read the first field
            text = "." + text[i:]
            n = len(text)
            i = 0
    return steps


def _closing(text: str, i: int) -> int:
    depth = 0
    quote = ""
    for j in range(i, len(text)):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError(f"unclosed [ in {text!r}")


def _field(name: str) -> Step:
    def step(values: list[Any]) -> list[Any]:
        out = []
        for v in values:
            if isinstance(v, dict) and name in v:
                out.append(v[name])
        return out

    return step


def _bracket(inner: str) -> Step:
    if inner == "*":
        return _wildcard
    if re.fullmatch(r"-?\d+", inner):
        index = int(inner)

        def pick(values: list[Any]) -> list[Any]:
            out = []
            for v in values:
                if isinstance(v, list) and -len(v) <= index < len(v):
                    out.append(v[index])
            return out

        return pick
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
        return _field(inner[1:-1])
    match = _FILTER.match(inner)
    if match:
        field_path, op, dq, sq, bare = match.groups()
        want = dq if dq is not None else sq if sq is not None else bare
        parts = field_path.split(".")

        def select(values: list[Any]) -> list[Any]:
            out = []
            for v in values:
                for item in v if isinstance(v, list) else ():
                    got: Any = item
                    for p in parts:
                        got = got.get(p) if isinstance(got, dict) else None
                    equal = got is not None and _text(got) == want
                    if equal == (op == "=="):
                        out.append(item)
            return out

        return select
    raise JSONPathError(f"unsupported JSONPath [{inner}]")


def _wildcard(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
        elif isinstance(v, dict):
            out.extend(v.values())
    return out


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
