"""Resource types, object keys and changes: the vocabulary every layer speaks."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ObjectKey(NamedTuple):
    """Identity of one object over its whole life: type, namespace ("" if cluster-scoped), name.

    `type` is the version-free kubectl notation (`pods`, `deployments.apps`) so that an API
    version bump never splits one object's history in two.
    """

    type: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.type}/{self.namespace}/{self.name}"
        return f"{self.type}/{self.name}"


class ChangeKind(enum.IntEnum):
    """What a change did to an object (the watch event types)."""

    ADDED = 0
    MODIFIED = 1
    DELETED = 2


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One API resource type as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    singular: str = ""
    categories: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """The version-free name used in keys and on the command line (`deployments.apps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        """The apiVersion field objects of this type carry (`apps/v1`, `v1`)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def watchable(self) -> bool:
        """True when the type can be listed and watched."""
        return "list" in self.verbs and "watch" in self.verbs

    def key_of(self, obj: dict[str, Any]) -> ObjectKey:
        """The key of an object of this type."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "") if self.namespaced else ""
        return ObjectKey(self.name, ns or "", meta.get("name", ""))


@dataclass(slots=True)
class Change:
    """One change the cluster made, stamped with the time it was received (ns since the epoch).

    `raw` is `obj` as msgpack when the producer already packed it (a session, for its map):
    a sink that keeps the newest version of each object keeps these bytes, not a copy, so a
    live object's newest version is held once in memory."""

    t: int
    key: ObjectKey
    kind: ChangeKind
    obj: dict[str, Any] | None = None
    raw: bytes | None = field(default=None, compare=False, repr=False)
