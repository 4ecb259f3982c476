"""Label and field selectors as the API server parses them (`app=web,tier in (a,b),!canary`).

`parse_label_selector` and `parse_field_selector` return a predicate on object dicts, or raise
`SelectorError` with the message kube-apiserver would give (served as 400 BadRequest).
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
    """A LabelSelector object (`matchLabels`/`matchExpressions`) as a selector string."""
    if not spec:
        return ""
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


# Field selectors: metadata.name / metadata.namespace everywhere, plus the per-type fields the
# real server indexes (kubectl users lean on these: `--field-selector spec.nodeName=x`).
_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "secrets": ("type",),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
    "replicasets.apps": ("status.replicas",),
    "jobs.batch": ("status.successful",),
}


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    if path == "source":  # events: the reporting component
        src = obj.get("source") or {}
        return str(src.get("component", "") or obj.get("reportingComponent", ""))
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(text: str | None, type_name: str) -> Predicate | None:
    """A predicate for a `fieldSelector` string on objects of `type_name`; None selects all."""
    if not text or not text.strip():
        return None
    allowed = _COMMON_FIELDS + EXTRA_FIELDS.get(type_name, ())
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        field = field.strip()
        if field not in allowed:
            only = ", ".join(f'"{f}"' for f in allowed)
            raise SelectorError(f'"{field}" is not a known field selector: only {only}')
        terms.append((field, op != "!=", value.strip()))
    if not terms:
        return None

    def match(obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, field) == value) == equal for field, equal, value in terms)

    return match


def combine(*preds: Predicate | None) -> Predicate | None:
    """A predicate that requires every given one; None when none is given."""
    active = [p for p in preds if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
