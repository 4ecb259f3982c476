"""What the detail pane shows of one object at t: its YAML (redacted) or a describe summary.

YAML decodes the one object; describe also decodes the events of its namespace at t (and, for a
node, the pods at t) to find the ones about it. No UI here.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.printers import CRD_TYPE
from khronoscope.printers.describe import describe_generic, describe_node, describe_pod
from khronoscope.printers.redact import redact
from khronoscope.printers.yamlfmt import to_yaml
from khronoscope.temporal.reader import TemporalReader

_EVENTS = ("events", "events.events.k8s.io")


def version_at(tmap: TemporalReader, key: ObjectKey, t: int) -> int | None:
    """The time of the version of `key` in force at t (None before it first existed): what a
    detail view compares to know whether it must redraw."""
    return tmap.previous_change(t + 1, key=key)


def yaml_text(
    tmap: TemporalReader, key: ObjectKey, t: int, managed_fields: bool = False
) -> str | None:
    """The object's YAML at t with Secret values hidden; None if it did not exist then."""
    obj = tmap.get(key, t)
    if obj is None:
        return None
    return to_yaml(redact(obj, key.type, managed_fields=managed_fields))


def events_for(tmap: TemporalReader, key: ObjectKey, kind: str, t: int) -> list[dict[str, Any]]:
    """Events about one object as they stood at t (those of its namespace, decoded in one
    pass: rows are no longer kept per version, so reading them would cost a decode each too)."""
    namespace = key.namespace or None
    for events_type in _EVENTS:
        events = tmap.state_at(t, events_type, namespace)
        if not events:
            continue
        found = []
        for ev in events.values():
            involved = ev.get("involvedObject") or ev.get("regarding") or {}
            if involved.get("name") == key.name and (involved.get("kind") or "").lower() == (
                kind.lower()
            ):
                found.append(ev)
        return found
    return []


def pods_on_node(tmap: TemporalReader, node: str, t: int) -> list[dict[str, Any]]:
    """Pods scheduled on `node` at t."""
    return [
        obj
        for obj in tmap.state_at(t, "pods").values()
        if (obj.get("spec") or {}).get("nodeName") == node
    ]


def describe_text(
    tmap: TemporalReader, key: ObjectKey, t: int, tz: tzinfo | None = None
) -> str | None:
    """A `kubectl describe`-like summary at t; None if the object did not exist then."""
    obj = tmap.get(key, t)
    if obj is None:
        return None
    kind = obj.get("kind") or ""
    events = events_for(tmap, key, kind, t)
    if key.type == "pods":
        return describe_pod(obj, events, t, tz)
    if key.type == "nodes":
        return describe_node(obj, pods_on_node(tmap, key.name, t), events, t, tz)
    if key.type == CRD_TYPE:
        # a CRD's schema is long; its describe keeps names, versions and printer columns
        obj = {k: v for k, v in obj.items() if k != "status"}
    return describe_generic(redact(obj, key.type), events, t, tz)
