"""What changed between two moments: objects added, modified and deleted, per type.

Only the keys that changed in between are looked at (the map's per-type change index), and an
object that changed and changed back is not "modified": its stored bytes at both ends are
compared, without decoding. No UI here.
"""

from __future__ import annotations

from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.temporal.map import TemporalMap

ADDED, MODIFIED, DELETED = "added", "modified", "deleted"
_ORDER = {ADDED: 0, MODIFIED: 1, DELETED: 2}
# events are many and short-lived: listed after the objects they are about
_LAST_TYPES = ("events", "events.events.k8s.io")


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
    tmap: TemporalMap, t1: int, t2: int, types: list[str] | None = None
) -> WhatChanged:
    """Compare the moments t1 and t2 (either order) over `types` (None: every type)."""
    lo, hi = min(t1, t2), max(t1, t2)
    out: dict[str, list[Moved]] = {}
    names = types if types is not None else tmap.types()
    names = sorted(names, key=lambda n: (n in _LAST_TYPES, n))
    for type_name in names:
        kids, _ = tmap.changed_keys(lo, hi, type_name)
        moved = []
        for kid in kids:
            chain = tmap.chain_by_kid(kid)
            before, after = chain.exists_at(lo), chain.exists_at(hi)
            if before and after:
                i, j = chain.index_at(lo), chain.index_at(hi)
                if i == j or chain.raw_of(i) == chain.raw_of(j):
                    continue  # changed and changed back
                moved.append(Moved(chain.key, MODIFIED))
            elif after:
                moved.append(Moved(chain.key, ADDED))
            elif before:
                moved.append(Moved(chain.key, DELETED))
        if moved:
            moved.sort(key=lambda m: (_ORDER[m.how], m.key.namespace, m.key.name))
            out[type_name] = moved
    return WhatChanged(lo, hi, out)
