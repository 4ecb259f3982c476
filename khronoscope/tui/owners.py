"""Who owns what at t, and an object's Events over time (no UI here).

Ownership is read from `metadata.ownerReferences` (Deployment -> ReplicaSet -> Pod, CronJob ->
Job -> Pod, StatefulSet/DaemonSet -> Pod); a Service's pods are the ones its selector picks.
ReplicaSets are ordered by their Deployment revision, newest first, as `kubectl rollout
history` numbers them. Events are matched by their OBJECT cell (`kind/name`), so finding them
reads rows, not objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.printers import columns_for, format_cell
from khronoscope.printers.selector import parse_selector, selector_from_spec
from khronoscope.temporal.map import TemporalMap
from khronoscope.tui.trouble import trouble_of

# which types an owner's children can be (ownerReferences point up, so children are looked
# for among these)
CHILD_TYPES: dict[str, tuple[str, ...]] = {
    "deployments.apps": ("replicasets.apps",),
    "replicasets.apps": ("pods",),
    "statefulsets.apps": ("pods",),
    "daemonsets.apps": ("pods",),
    "cronjobs.batch": ("jobs.batch",),
    "jobs.batch": ("pods",),
    "services": ("pods",),
}
_KIND_TYPES = {
    ("apps", "Deployment"): "deployments.apps",
    ("apps", "ReplicaSet"): "replicasets.apps",
    ("apps", "StatefulSet"): "statefulsets.apps",
    ("apps", "DaemonSet"): "daemonsets.apps",
    ("batch", "Job"): "jobs.batch",
    ("batch", "CronJob"): "cronjobs.batch",
    ("", "Node"): "nodes",
    ("", "Pod"): "pods",
}
# the cells that say how an object is doing, per type (the rest of the row is in its view)
STATUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "pods": ("READY", "STATUS", "RESTARTS", "NODE"),
    "deployments.apps": ("READY", "UP-TO-DATE", "AVAILABLE"),
    "replicasets.apps": ("DESIRED", "CURRENT", "READY"),
    "statefulsets.apps": ("READY",),
    "daemonsets.apps": ("DESIRED", "READY", "AVAILABLE"),
    "jobs.batch": ("STATUS", "COMPLETIONS"),
    "cronjobs.batch": ("SCHEDULE", "ACTIVE"),
    "services": ("TYPE", "CLUSTER-IP"),
    "nodes": ("STATUS",),
}
REVISION = "deployment.kubernetes.io/revision"


@dataclass
class TreeNode:
    """One object of a tree: its key, its status at t, whether it is in trouble, a note (the
    revision of a ReplicaSet), its children."""

    key: ObjectKey
    status: str = ""
    trouble: str = ""
    note: str = ""
    children: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class TreeLine:
    """A tree flattened for a list: depth, the node, and the drawing prefix (`├─ `)."""

    depth: int
    node: TreeNode
    prefix: str


def type_of_ref(ref: Mapping[str, Any], types: Mapping[str, ResourceType]) -> str | None:
    """The type name an ownerReference's apiVersion and kind stand for."""
    group = str(ref.get("apiVersion") or "").rpartition("/")[0]
    kind = str(ref.get("kind") or "")
    for rt in types.values():
        if rt.kind == kind and rt.group == group:
            return rt.name
    return _KIND_TYPES.get((group, kind))


def status_text(tmap: TemporalMap, key: ObjectKey, t: int) -> str:
    """The status cells of `key` at t, as its table prints them (`1/1  Running  0`)."""
    row: Any = tmap.row(key, t)
    names = STATUS_COLUMNS.get(key.type)
    if row is None or names is None:
        return ""
    columns = columns_for(key.type)
    if getattr(row, "fmt", None) != columns.fmt:
        return ""
    parts = []
    for name in names:
        i = columns.index(name)
        if 0 <= i < len(row.cells):
            parts.append(format_cell(columns.columns[i].kind, row.cells[i], t))
    return "  ".join(p for p in parts if p)


def _node(tmap: TemporalMap, key: ObjectKey, t: int, note: str = "") -> TreeNode:
    return TreeNode(key, status_text(tmap, key, t), trouble_of(key.type, tmap.row(key, t)), note)


def _identities(obj: Mapping[str, Any]) -> set[str]:
    """How an ownerReference can name `obj`: its uid, and kind/name (references written
    without a uid, as some tools and tests do)."""
    meta = obj.get("metadata") or {}
    out = {f"{obj.get('kind')}/{meta.get('name')}"}
    if meta.get("uid"):
        out.add(str(meta["uid"]))
    return out


def _owners(obj: Mapping[str, Any]) -> set[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    out = set()
    for r in refs:
        if isinstance(r, dict):
            out.add(str(r["uid"]) if r.get("uid") else f"{r.get('kind')}/{r.get('name')}")
    return out


def _revision(obj: Mapping[str, Any]) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class OwnerIndex:
    """The objects of some types in one namespace at t, decoded once, by owner uid."""

    def __init__(self, tmap: TemporalMap, t: int, namespace: str | None) -> None:
        self.tmap = tmap
        self.t = t
        self.namespace = namespace
        self._objects: dict[str, dict[ObjectKey, dict[str, Any]]] = {}

    def objects(self, type_name: str) -> dict[ObjectKey, dict[str, Any]]:
        """Every object of `type_name` at t in the namespace (decoded on first use)."""
        found = self._objects.get(type_name)
        if found is None:
            found = self.tmap.state_at(self.t, type_name, self.namespace)
            self._objects[type_name] = found
        return found

    def children(self, key: ObjectKey, obj: Mapping[str, Any]) -> list[TreeNode]:
        """The objects `key` owns at t (a Service: the pods its selector picks)."""
        out: list[TreeNode] = []
        t = self.t
        if key.type == "services":
            text = selector_from_spec((obj.get("spec") or {}).get("selector"))
            if not text:
                return []
            try:
                selector = parse_selector(text)
            except ValueError:
                return []
            for child_key, child in sorted(self.objects("pods").items()):
                if child_key.namespace != key.namespace:
                    continue
                labels = (child.get("metadata") or {}).get("labels") or {}
                if selector.matches(tuple((str(k), str(v)) for k, v in labels.items())):
                    out.append(_node(self.tmap, child_key, t))
            return out
        mine = _identities(obj)
        for child_type in CHILD_TYPES.get(key.type, ()):
            owned = [
                (child_key, child)
                for child_key, child in self.objects(child_type).items()
                if child_key.namespace == key.namespace and mine & _owners(child)
            ]
            if child_type == "replicasets.apps":
                owned.sort(key=lambda kc: (-_revision(kc[1]), kc[0].name))
            else:
                owned.sort(key=lambda kc: kc[0].name)
            for child_key, child in owned:
                rev = _revision(child) if child_type == "replicasets.apps" else -1
                node = _node(self.tmap, child_key, t, f"revision {rev}" if rev >= 0 else "")
                node.children = self.children(child_key, child)
                out.append(node)
        return out


def xray(tmap: TemporalMap, t: int, type_name: str, namespace: str | None) -> list[TreeNode]:
    """The owner tree at t of every `type_name` object in `namespace` (None: all)."""
    index = OwnerIndex(tmap, t, namespace)
    roots = []
    for key, obj in sorted(index.objects(type_name).items()):
        node = _node(tmap, key, t)
        node.children = index.children(key, obj)
        roots.append(node)
    return roots


def owner_chain(
    tmap: TemporalMap, key: ObjectKey, t: int, types: Mapping[str, ResourceType]
) -> list[ObjectKey]:
    """The owners of `key` at t, nearest first (a Pod: its ReplicaSet, then its Deployment)."""
    out: list[ObjectKey] = []
    obj = tmap.get(key, t)
    current = key
    while obj is not None and len(out) < 8:
        refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
        ref = next((r for r in refs if isinstance(r, dict) and r.get("controller")), None)
        ref = ref or next((r for r in refs if isinstance(r, dict)), None)
        if ref is None:
            break
        type_name = type_of_ref(ref, types)
        if type_name is None:
            break
        rt = types.get(type_name)
        namespaced = rt.namespaced if rt is not None else type_name != "nodes"
        owner = ObjectKey(type_name, current.namespace if namespaced else "", str(ref.get("name")))
        out.append(owner)
        current = owner
        obj = tmap.get(owner, t)
    return out


def flatten(roots: list[TreeNode]) -> list[TreeLine]:
    """Tree lines with box-drawing prefixes, depth first."""
    out: list[TreeLine] = []

    def walk(node: TreeNode, depth: int, lead: str, last: bool) -> None:
        prefix = "" if depth == 0 else lead + ("└─ " if last else "├─ ")
        out.append(TreeLine(depth, node, prefix))
        below = "" if depth == 0 else lead + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            walk(child, depth + 1, below, i == len(node.children) - 1)

    for root in roots:
        walk(root, 0, "", True)
    return out


@dataclass(frozen=True)
class EventVersion:
    """One version of an Event about an object: when, its type, reason, count, message."""

    t: int
    key: ObjectKey
    type: str
    reason: str
    count: int
    message: str


def events_about(
    tmap: TemporalMap, key: ObjectKey, kind: str, until: int | None = None
) -> list[EventVersion]:
    """Every version of every Event whose OBJECT is `key` (`kind/name`), oldest first, up to
    `until`."""
    wanted = f"{kind.lower()}/{key.name}"
    columns = columns_for("events")
    i_type, i_reason = columns.index("TYPE"), columns.index("REASON")
    i_object, i_message, i_count = (
        columns.index("OBJECT"),
        columns.index("MESSAGE"),
        columns.index("COUNT"),
    )
    ns = key.namespace or None
    out: list[EventVersion] = []
    matched: dict[ObjectKey, bool] = {}
    for ref in tmap.changes(None, until, "events", ns):
        if ref.key.namespace != key.namespace and key.namespace:
            continue
        row: Any = tmap.row(ref.key, ref.t)
        if row is None or getattr(row, "fmt", None) != columns.fmt:
            continue
        ok = matched.get(ref.key)
        if ok is None:
            ok = row.cells[i_object] == wanted
            matched[ref.key] = ok
        if not ok:
            continue
        count = row.cells[i_count]
        out.append(
            EventVersion(
                ref.t,
                ref.key,
                str(row.cells[i_type] or ""),
                str(row.cells[i_reason] or ""),
                count if isinstance(count, int) else 1,
                str(row.cells[i_message] or ""),
            )
        )
    return out
