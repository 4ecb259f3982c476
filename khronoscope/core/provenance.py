"""Where a version comes from and who made it: observed, imported from an audit log, or
reconstructed from what the cluster remembers; and the versions whose content is not known.

An object version in the TemporalMap is just content. Its provenance is kept beside it, in a
`ProvenanceStore` keyed by (object, time): the audit user, groups, user agent and source IPs of
the write that made it, and its origin. Notes without a version of their own (a field manager's
last write, a condition's transition, both remembered by the object itself) are *marks*.

A write the audit log names without its body (a Metadata-level entry) leaves the object in a
state nobody knows: the TemporalMap then holds a placeholder version (`unknown_placeholder`) that
carries only the object's identity and a top-level `UNKNOWN_FIELD` saying why. Views label it as
unknown (`is_unknown`) instead of showing an invented state; a reader that knows nothing of this
shows the placeholder, which says it itself. Reconstructed versions carry `RECONSTRUCTED_FIELD`
the same way (what they were rebuilt from, and what is not known).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from khronoscope.core.types import ObjectKey

OBSERVED = "observed"  # watched by khronoscope
AUDIT = "audit"  # from a kube-apiserver audit log entry
RECONSTRUCTED = "reconstructed"  # rebuilt from what the cluster keeps (ReplicaSets, Events...)

# top-level fields no Kubernetes object has (the API server prunes unknown top-level fields)
UNKNOWN_FIELD = "khronoscope.io/content-unknown"
RECONSTRUCTED_FIELD = "khronoscope.io/reconstructed"

# sort order of entries at the same time: the version's own entry before the marks
_VERSION, _MARK = 0, 1


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a request, as the API server authenticated it."""

    user: str
    groups: tuple[str, ...] = ()
    user_agent: str = ""
    source_ips: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Provenance:
    """What is known of how the version of `key` at `t` came to be (or a mark at t)."""

    t: int
    key: ObjectKey
    origin: str
    actor: Actor | None = None
    verb: str = ""
    subresource: str = ""
    resource_version: str = ""
    audit_id: str = ""
    # the version at t is a placeholder: the write is known, its result is not
    unknown: bool = False
    # a note at t, not the provenance of a version
    mark: bool = False
    note: str = ""

    @property
    def user(self) -> str:
        """The audit user, or "" when not known."""
        return self.actor.user if self.actor is not None else ""

    def describe(self) -> str:
        """One line: `changed by alice (content not in the audit log)`, `reconstructed: ...`."""
        parts: list[str] = []
        if self.origin == RECONSTRUCTED:
            parts.append("reconstructed" + (f": {self.note}" if self.note else ""))
        elif self.mark:
            parts.append(self.note)
        else:
            verb = "changed"
            if self.verb in ("delete", "deletecollection"):
                verb = "deleted"
            elif self.verb == "create":
                verb = "created"
            who = f" by {self.user}" if self.user else ""
            sub = f" ({self.subresource})" if self.subresource else ""
            parts.append(f"{verb}{who}{sub}")
            if self.unknown:
                parts.append("(content not in the audit log)")
            elif self.note:
                parts.append(f"({self.note})")
        return " ".join(p for p in parts if p)


class ProvenanceStore:
    """Provenance entries per object, in time order; sinks see every entry added (a recorder
    writes them). Reconstructed versions are handed to sinks with their content."""

    def __init__(self) -> None:
        self._by_key: dict[ObjectKey, list[tuple[int, int, Provenance]]] = {}
        self._sinks: list[Callable[[Provenance, dict[str, Any] | None], None]] = []
        self.count = 0
        # the history before this was not watched: reconstructed or imported (views style it)
        self.observed_from: int | None = None
        # [start, end) of history imported from audit logs, when there is some
        self.imported: tuple[int, int] | None = None

    def add(self, entry: Provenance, content: dict[str, Any] | None = None) -> None:
        """Add an entry (a version's entry replaces an earlier one for the same key and t)."""
        items = self._by_key.setdefault(entry.key, [])
        order = _MARK if entry.mark else _VERSION
        item = (entry.t, order, entry)
        if not entry.mark:
            i = bisect.bisect_left(items, (entry.t, _VERSION), key=lambda x: (x[0], x[1]))
            if i < len(items) and items[i][0] == entry.t and items[i][1] == _VERSION:
                items[i] = item
                self._tell(entry, content)
                return
        if not items or (items[-1][0], items[-1][1]) <= (entry.t, order):
            items.append(item)
        else:
            bisect.insort(items, item, key=lambda x: (x[0], x[1]))
        self.count += 1
        self._tell(entry, content)

    def _tell(self, entry: Provenance, content: dict[str, Any] | None) -> None:
        for sink in self._sinks:
            sink(entry, content)

    def add_sink(self, sink: Callable[[Provenance, dict[str, Any] | None], None]) -> None:
        """Call `sink(entry, content)` for every entry added from now on."""
        self._sinks.append(sink)

    def version(self, key: ObjectKey, t: int) -> Provenance | None:
        """The entry of the version of `key` that began at exactly t."""
        items = self._by_key.get(key)
        if not items:
            return None
        i = bisect.bisect_left(items, (t, _VERSION), key=lambda x: (x[0], x[1]))
        if i < len(items) and items[i][0] == t and items[i][1] == _VERSION:
            return items[i][2]
        return None

    def entries(self, key: ObjectKey) -> list[Provenance]:
        """Every entry of `key` (versions and marks), oldest first."""
        return [item[2] for item in self._by_key.get(key, ())]

    def marks(self, key: ObjectKey) -> list[Provenance]:
        """The marks of `key`, oldest first."""
        return [item[2] for item in self._by_key.get(key, ()) if item[1] == _MARK]

    def has(self, key: ObjectKey) -> bool:
        """True when `key` has an entry."""
        return key in self._by_key

    def keys(self) -> Iterator[ObjectKey]:
        """Every object with an entry."""
        return iter(self._by_key)

    def __len__(self) -> int:
        return self.count


def unknown_placeholder(
    api_version: str, kind: str, key: ObjectKey, why: str, resource_version: str = ""
) -> dict[str, Any]:
    """The version standing for a state nobody knows: identity only, and why."""
    meta: dict[str, Any] = {"name": key.name}
    if key.namespace:
        meta["namespace"] = key.namespace
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, UNKNOWN_FIELD: why}


def is_unknown(obj: dict[str, Any] | None) -> bool:
    """True for a placeholder made by `unknown_placeholder`."""
    return obj is not None and UNKNOWN_FIELD in obj


def unknown_reason(obj: dict[str, Any] | None) -> str:
    """Why the placeholder's content is unknown ("" when `obj` is not one)."""
    if obj is None:
        return ""
    value = obj.get(UNKNOWN_FIELD)
    return str(value) if value is not None else ""


def reconstructed_note(obj: dict[str, Any] | None) -> str:
    """What a reconstructed version was rebuilt from ("" when `obj` is not one)."""
    if obj is None:
        return ""
    value = obj.get(RECONSTRUCTED_FIELD)
    return str(value) if value is not None else ""


def provenance_of(source: object) -> ProvenanceStore | None:
    """The source's provenance store, or None when it keeps none."""
    store = getattr(source, "provenance", None)
    return store if isinstance(store, ProvenanceStore) else None
