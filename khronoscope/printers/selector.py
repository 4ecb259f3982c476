"""Kubernetes label selectors (`app=web,tier!=db,env in (a,b),!legacy`) parsed and matched.

Matching works on a row's labels (a tuple of pairs), so a selector filters a 10,000-pod table
without decoding a single object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_OP = re.compile(rf"^({_NAME})\s+(in|notin)\s*\(([^)]*)\)$")
_EQ_OP = re.compile(rf"^({_NAME})\s*(==|=|!=)\s*({_VALUE})$")
_EXISTS = re.compile(rf"^(!?)\s*({_NAME})$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")


class SelectorError(ValueError):
    """A selector that cannot be parsed; the message says which part."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a selector: key, operator (=, !=, in, notin, exists, !exists), values."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        """True when `labels` satisfy this term."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # != and notin also match objects without the label, as in Kubernetes
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed label selector: all requirements must hold."""

    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Iterable[tuple[str, str]] | dict[str, str]) -> bool:
        """True when the labels (pairs or a dict) satisfy every requirement."""
        table = labels if isinstance(labels, dict) else dict(labels)
        return all(r.matches(table) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """Parse a label selector; raise SelectorError with a one-line reason."""
    terms = _split(text)
    if not terms:
        raise SelectorError("empty label selector")
    reqs: list[Requirement] = []
    for term in terms:
        term = term.strip()
        if m := _SET_OP.match(term):
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            if not values or not all(_VALUE_RE.match(v) for v in values):
                raise SelectorError(f"bad values in {term!r}")
            reqs.append(Requirement(m.group(1), m.group(2), frozenset(values)))
        elif m := _EQ_OP.match(term):
            op = "=" if m.group(2) in ("=", "==") else "!="
            reqs.append(Requirement(m.group(1), op, frozenset([m.group(3)])))
        elif m := _EXISTS.match(term):
            reqs.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise SelectorError(
                f"cannot read {term!r} (use key=value, key!=value, "
                "key in (a,b), key notin (a,b), key or !key)"
            )
    return Selector(text.strip(), tuple(reqs))


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    out: list[str] = []
    depth = 0
    buf: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if depth:
        raise SelectorError(f"unbalanced '(' in {text!r}")
    out.append("".join(buf))
    if any(not t.strip() for t in out) and text.strip():
        raise SelectorError(f"empty term in {text!r}")
    return [t for t in out if t.strip()]


def selector_from_spec(selector: dict[str, Any] | None) -> str:
    """A workload's `spec.selector` (matchLabels + matchExpressions) as selector text."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(expr.get("values") or ())
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        # a Service's selector is a plain map
        parts = [f"{k}={v}" for k, v in selector.items() if isinstance(v, str)]
    return ",".join(parts)
