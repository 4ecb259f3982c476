"""What changed between two moments: objects added, modified and deleted, per type.

Only the keys that changed in between are looked at (the map's per-type change index), and an
object that changed and changed back is not "modified": its stored bytes at both ends are
compared, without decoding. No UI here.
"""

from __future__ import annotations

from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.temporal.reader import TemporalReader

ADDED, MODIFIED, DELETED = "added", "modified", "deleted"
_ORDER = {ADDED: 0, MODIFIED: 1, DELETED: 2}
# events are many and short-lived: listed after the objects they are about
_LAST_TYPES = ("events", "events.events.k8s.io")
# past this many changes of a type in the range, comparing the two moments' states may be
# cheaper than walking every change (it is once there are more changes than objects)
_STATE_COMPARE_AFTER = 20_000


@dataclass(frozen=True, slots=True)
class Moved:
    """One object that differs between the two moments."""

    key: ObjectKey
    how: str


@dataclass
class WhatChanged:
    """Objects that differ between t1 and t2 (t1 < t2), grouped by type."""

    t1: int
    t2: int
    by_type: dict[str, list[Moved]]

    def counts(self, type_name: str) -> dict[str, int]:
        """How many added, modified and deleted objects of a type."""
        out = {ADDED: 0, MODIFIED: 0, DELETED: 0}
        for m in self.by_type.get(type_name, []):
            out[m.how] += 1
        return out

    @property
    def total(self) -> int:
        """Objects that differ, all types."""
        return sum(len(v) for v in self.by_type.values())


def what_changed(
    tmap: TemporalReader, t1: int, t2: int, types: list[str] | None = None
) -> WhatChanged:
    """Compare the moments t1 and t2 (either order) over `types` (None: every type)."""
    lo, hi = min(t1, t2), max(t1, t2)
    out: dict[str, list[Moved]] = {}
    names = types if types is not None else tmap.types()
    names = sorted(names, key=lambda n: (n in _LAST_TYPES, n))
    for type_name in names:
        moved = []
        for key, a, b in _candidates(tmap, lo, hi, type_name):
            if a is not None and b is not None:
                if a == b or tmap.raw_at(key, lo) == tmap.raw_at(key, hi):
                    continue  # changed and changed back
                moved.append(Moved(key, MODIFIED))
            elif b is not None:
                moved.append(Moved(key, ADDED))
            elif a is not None:
                moved.append(Moved(key, DELETED))
        if moved:
            moved.sort(key=lambda m: (_ORDER[m.how], m.key.namespace, m.key.name))
            out[type_name] = moved
    return WhatChanged(lo, hi, out)


def _candidates(
    tmap: TemporalReader, lo: int, hi: int, type_name: str
) -> list[tuple[ObjectKey, int | None, int | None]]:
    """Objects of a type that may differ between lo and hi, with the time of their version
    in force at each end (None: absent). Over a short range, the keys changed in between; over
    a range with more changes than objects (days apart), the two moments' states."""
    changed = tmap.count_changes(lo + 1, hi, type_name)
    if changed > _STATE_COMPARE_AFTER:
        a, b = tmap.versions_at(lo, type_name), tmap.versions_at(hi, type_name)
        if changed > len(a) + len(b):
            return [(k, a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
    kids, _ = tmap.changed_keys(lo, hi, type_name)
    out = []
    for kid in kids:
        key = tmap.key_of(kid)
        out.append((key, tmap.version_at(key, lo), tmap.version_at(key, hi)))
    return out
