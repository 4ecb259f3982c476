"""An in-memory HistorySource (what a session or a recording reader hands the app) and the
types a session would report; every time of the synthetic scenarios is T0 + seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.source import (
    Bookmark,
    Gap,
    SourceCapability,
    SourceInfo,
    TypeState,
    TypeStatus,
)
from khronoscope.core.timefmt import NS, parse_k8s_time
from khronoscope.core.types import ResourceType
from khronoscope.printers import row_for
from khronoscope.temporal import TemporalMap

T0 = parse_k8s_time("2026-03-14T09:00:00Z") or 0
"""Start of the incident scenario (every time below is T0 + seconds)."""


def at(seconds: float) -> int:
    """T0 + seconds, in ns."""
    return T0 + int(seconds * NS)


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "pods", "Pod", True, ("po",), ("list", "watch"), "pod"),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), ("list", "watch"), "node"),
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("list", "watch")),
    ResourceType("", "v1", "services", "Service", True, ("svc",), ("list", "watch"), "service"),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), ("list", "watch")),
    ResourceType("", "v1", "secrets", "Secret", True, (), ("list", "watch"), "secret"),
    ResourceType("", "v1", "events", "Event", True, ("ev",), ("list", "watch"), "event"),
    ResourceType(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        ("list", "watch"),
    ),
    ResourceType(
        "", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), ("list", "watch")
    ),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("list", "watch")),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("list", "watch")),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("list", "watch")),
    ResourceType("batch", "v1", "jobs", "Job", True, (), ("list", "watch"), "job"),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("list", "watch")),
    ResourceType(
        "networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), ("list", "watch")
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        ("list", "watch"),
    ),
    ResourceType("example.com", "v1", "databases", "Database", True, ("db",), ("list", "watch")),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), ("list", "watch")),
    ResourceType("events.k8s.io", "v1", "events", "Event", True, (), ("list", "watch")),
)


@dataclass
class MemorySource:
    """A HistorySource held in memory: a TemporalMap (rows from `printers.row_for`) plus the
    types and statuses a session would report."""

    tmap: TemporalMap
    info: SourceInfo
    types: dict[str, ResourceType]
    status: dict[str, TypeStatus] = field(default_factory=dict)
    live: bool = False
    gap_list: list[Gap] = field(default_factory=list)
    marks: list[Bookmark] = field(default_factory=list)
    capabilities: SourceCapability = SourceCapability.NONE

    @property
    def is_live(self) -> bool:
        """True while `Churn` (or a test) keeps adding changes."""
        return self.live

    def resource_types(self) -> dict[str, ResourceType]:
        """Every known type by name."""
        return dict(self.types)

    def type_status(self) -> dict[str, TypeStatus]:
        """Per-type watch status."""
        return dict(self.status)

    def gaps(self) -> list[Gap]:
        """Recorded gaps, oldest first."""
        return list(self.gap_list)

    def bookmarks(self) -> list[Bookmark]:
        """Bookmarks, oldest first."""
        return sorted(self.marks, key=lambda b: b.t)

    def add_bookmark(self, bookmark: Bookmark) -> Bookmark:
        """Store a bookmark with a fresh id."""
        bookmark.id = max((b.id for b in self.marks), default=0) + 1
        self.marks.append(bookmark)
        return bookmark

    def remove_bookmark(self, bookmark_id: int) -> None:
        """Delete a bookmark."""
        self.marks = [b for b in self.marks if b.id != bookmark_id]

    def rename_bookmark(self, bookmark_id: int, label: str) -> Bookmark | None:
        """Relabel a bookmark in place."""
        for b in self.marks:
            if b.id == bookmark_id:
                b.label = label
                return b
        return None

    # --- writing the past --------------------------------------------------------------------

    def put(self, t: int, obj: dict[str, Any]) -> None:
        """Record `obj` (its type found from apiVersion/kind) at t."""
        rt = self._type_of(obj)
        self.tmap.put(rt.key_of(obj), t, obj)
        st = self.status.get(rt.name)
        if st is not None:
            st.changes += 1

    def delete(self, t: int, obj: dict[str, Any]) -> None:
        """Record that `obj` is gone at t."""
        rt = self._type_of(obj)
        self.tmap.delete(rt.key_of(obj), t)

    def _type_of(self, obj: dict[str, Any]) -> ResourceType:
        api = obj.get("apiVersion", "v1")
        group = api.rpartition("/")[0]
        for rt in self.types.values():
            if rt.kind == obj.get("kind") and rt.group == group:
                return rt
        raise KeyError(f"no type for {api} {obj.get('kind')}")


def new_source(cluster: str = "synthetic", live: bool = False) -> MemorySource:
    """An empty MemorySource knowing the scenario's types, every type LIVE except Roles
    (forbidden, as for an unprivileged account)."""
    types = {rt.name: rt for rt in RESOURCE_TYPES}
    status = {name: TypeStatus(TypeState.LIVE, T0) for name in types}
    status["roles.rbac.authorization.k8s.io"] = TypeStatus(
        TypeState.FORBIDDEN,
        T0,
        'roles.rbac.authorization.k8s.io is forbidden: User "dev" cannot list resource "roles"',
    )
    return MemorySource(
        TemporalMap(row_fn=row_for),
        SourceInfo(cluster, context=f"{cluster}-admin"),
        types,
        status,
        live,
    )
