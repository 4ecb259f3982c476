"""The cluster side of a drift comparison: the objects at t that the Git side asks about.

The only part of a comparison that reads the source, in steps (see khronoscope.export.steps);
what it returns is detached from the source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from khronoscope.core.source import HistorySource
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export.manifests import GitSide
from khronoscope.export.scope import ExportScope, skip_reason, type_skipped
from khronoscope.export.steps import Steps, lookup, objects_at


@dataclass(frozen=True, slots=True)
class ClusterSide:
    """The cluster at t as compared: the objects in the compared scope, and the objects Git
    names that the scope left out (None: it did not exist at t)."""

    t: int
    cluster: str
    types: dict[str, ResourceType]
    objects: dict[ObjectKey, dict[str, Any]]
    named: dict[ObjectKey, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ClusterFilter:
    """The cluster objects compared: the scope's, or (no scope) those in the namespaces and
    cluster-scoped types the manifests name, default skips applied."""

    scope: ExportScope | None
    namespaces: frozenset[str] = frozenset()
    cluster_types: frozenset[str] = frozenset()

    @classmethod
    def of(cls, side: GitSide) -> ClusterFilter:
        """The filter the Git side implies."""
        if side.scope is not None:
            return cls(side.scope)
        keys = side.objects
        return cls(
            None,
            frozenset(k.namespace for k in keys if k.namespace),
            frozenset(k.type for k in keys if not k.namespace),
        )

    def type_names(self, known: Iterable[str]) -> list[str]:
        """The types of `known` that may hold a compared object (the others are not read)."""
        scope = self.scope
        out = []
        for name in sorted(known):
            if scope is not None and scope.types is not None and name not in scope.types:
                continue
            if type_skipped(name) and not (scope is not None and scope.include_skipped):
                continue
            out.append(name)
        return out

    def index_namespaces(self) -> set[str] | None:
        """The namespaces to walk ("" holds cluster-scoped objects); None: all."""
        if self.scope is None:
            return {*self.namespaces, ""}
        if self.scope.namespaces is None:
            return None
        return {*self.scope.namespaces, ""}

    def wants_key(self, key: ObjectKey) -> bool:
        """The checks that need no object content."""
        if self.scope is not None:
            return self.scope.wants_key(key)
        if key.namespace:
            covered = key.namespace in self.namespaces
        else:
            covered = key.type in self.cluster_types or (
                key.type == "namespaces" and key.name in self.namespaces
            )
        return covered and not type_skipped(key.type)

    def wants(self, key: ObjectKey, obj: dict[str, Any]) -> bool:
        """All checks, the default skips that read the object included."""
        if self.scope is not None:
            return self.scope.wants(key, obj)
        return self.wants_key(key) and skip_reason(key, obj) is None


def cluster_steps(
    source: HistorySource, t: int, side: GitSide, types: dict[str, ResourceType]
) -> Steps[ClusterSide]:
    """Read what `side` is compared with at t, a step per chunk of objects."""
    flt = ClusterFilter.of(side)
    tmap = source.tmap
    objects = yield from objects_at(
        tmap,
        t,
        flt.type_names(tmap.types()),
        flt.index_namespaces(),
        flt.wants_key,
        flt.wants,
    )
    # an object the scope left out may still exist: Git names it, so look it up
    scope = side.scope
    left_out = [
        key
        for key in side.objects
        if key not in objects and (scope is None or scope.wants_key(key))
    ]
    named = yield from lookup(tmap, t, left_out)
    return ClusterSide(t, source.info.cluster, types, objects, named)
