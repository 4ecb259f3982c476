"""Field selectors as the API server reads them (label selectors: khronoscope.core.selectors).

`parse_label_selector` and `parse_field_selector` return a predicate on object dicts, or raise
`SelectorError` with the message kube-apiserver would give (served as 400 BadRequest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from khronoscope.core.selectors import Predicate, SelectorError

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
