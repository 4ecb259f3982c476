"""Label selectors as the API server parses them (`app=web,tier in (a,b),!canary`).

One parser for every place that reads them: the simulated API server (which also reads field
selectors, in sim/selectors.py), the browser's `/-l` filter and `--logs SELECTOR`. Errors carry
the message kube-apiserver would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class SelectorError(ValueError):
    """A selector the server cannot parse; the message is what kube-apiserver says."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One label requirement: key, operator (=, !=, in, notin, exists, !, gt, lt), values."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when `labels` satisfy this requirement."""
        op, key = self.op, self.key
        if op == "exists":
            return key in labels
        if op == "!":
            return key not in labels
        if op in ("=", "in"):
            return key in labels and labels[key] in self.values
        if op in ("!=", "notin"):
            return key not in labels or labels[key] not in self.values
        if key not in labels:
            return False
        try:
            have, want = int(labels[key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if op == "gt" else have < want


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_SET = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_BINOP = re.compile(r"^\s*([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)\s*$")


def _check_key(key: str) -> None:
    if not key or len(key) > 316 or not _KEY.match(key):
        raise SelectorError(
            f"unable to parse requirement: invalid label key {key!r}: name part must consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise SelectorError(
            f"unable to parse requirement: invalid label value: {value!r}: a valid label must be "
            "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character"
        )


def parse_requirements(text: str) -> list[Requirement]:
    """The requirements of a label selector string; empty selector -> no requirement."""
    reqs: list[Requirement] = []
    if not text.strip():
        return reqs
    for part in _split_top_level(text):
        p = part.strip()
        if not p:
            raise SelectorError("unable to parse requirement: found '', expected: identifier")
        m = _SET.match(p)
        if m:
            key, op, inner = m.groups()
            _check_key(key)
            values = tuple(v.strip() for v in inner.split(",") if v.strip() != "")
            if not values:
                raise SelectorError(
                    "unable to parse requirement: for 'in', 'notin' operators, "
                    "values set can't be empty"
                )
            for v in values:
                _check_value(v)
            reqs.append(Requirement(key, op, values))
            continue
        if re.match(r"^\s*\S+\s+(in|notin)\b", p):
            raise SelectorError("unable to parse requirement: found '', expected: '('")
        if p.startswith("!"):
            key = p[1:].strip()
            _check_key(key)
            reqs.append(Requirement(key, "!"))
            continue
        m = _BINOP.match(p)
        if m:
            key, op, value = m.groups()
            _check_key(key)
            if op in ("<", ">"):
                if not re.match(r"^-?\d+$", value):
                    raise SelectorError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must "
                        f"be an integer: {value!r}"
                    )
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            else:
                _check_value(value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            continue
        key = p
        if " " in key:
            raise SelectorError(
                f"unable to parse requirement: found '{key.split()[1]}', "
                "expected: ',', '!=', '==', '=', 'in', 'notin'"
            )
        _check_key(key)
        reqs.append(Requirement(key, "exists"))
    return reqs


def parse_label_selector(text: str | None) -> Predicate | None:
    """A predicate on objects for a `labelSelector` string; None when it selects everything."""
    if not text:
        return None
    reqs = parse_requirements(text)
    if not reqs:
        return None

    def match(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


def selector_from_match(spec: Mapping[str, Any] | None) -> str:
    """A LabelSelector object (`matchLabels`/`matchExpressions`), or a Service's plain selector
    map, as a selector string."""
    if not spec:
        return ""
    if "matchLabels" not in spec and "matchExpressions" not in spec:
        return ",".join(f"{k}={v}" for k, v in sorted(spec.items()) if isinstance(v, str))
    parts = [f"{k}={v}" for k, v in sorted((spec.get("matchLabels") or {}).items())]
    for expr in spec.get("matchExpressions") or []:
        op = expr.get("operator", "")
        key = expr.get("key", "")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
