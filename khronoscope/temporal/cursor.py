"""A materialised view of one type at a time t that moves by applying only what changed."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from khronoscope.core.types import ObjectKey
from khronoscope.temporal.map import Namespaces, TemporalMap, _ns_set


@dataclass(slots=True)
class CursorDelta:
    """What a move changed in the view: keys that appeared, changed row, or disappeared."""

    added: set[ObjectKey] = field(default_factory=set)
    modified: set[ObjectKey] = field(default_factory=set)
    removed: set[ObjectKey] = field(default_factory=set)
    rebuilt: bool = False
    crossed: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.removed or self.rebuilt)


class Cursor:
    """The rows of one type (optionally some namespaces) at `t`.

    `seek(t')` costs the number of changes between t and t' (forwards or backwards); when that is
    larger than rebuilding from the chains, it rebuilds instead, so a jump is never worse than a
    fresh query.
    """

    def __init__(self, tmap: TemporalMap, type: str, namespace: Namespaces = None) -> None:
        self.tmap = tmap
        self.type = type
        self.namespaces = _ns_set(namespace)
        self.t: int | None = None
        self.rows: dict[ObjectKey, Hashable] = {}
        self._late_mark = 0
        self._trims = tmap.trims

    def seek(self, t: int) -> CursorDelta:
        """Move to t; return what changed in the view."""
        if self.t is None or self._trims != self.tmap.trims:
            self._trims = self.tmap.trims
            return self._rebuild(t)
        late, self._late_mark = self.tmap.late_writes_since(self._late_mark)
        lo, hi = (self.t, t) if t >= self.t else (t, self.t)
        budget = max(len(self.rows), 1024)
        if hi > lo and self.tmap.count_changes(lo + 1, hi, self.type, self.namespaces) > budget:
            return self._rebuild(t)
        kids, crossed = self.tmap.changed_keys(lo, hi, self.type, self.namespaces)
        # a late write may have changed the past the cursor already crossed: re-read those keys
        kids.update(kid for _, kid in late)
        delta = CursorDelta(crossed=crossed)
        rows = self.rows
        for kid in kids:
            chain = self.tmap.chain_by_kid(kid)
            key = chain.key
            if key.type != self.type or (
                self.namespaces is not None and key.namespace not in self.namespaces
            ):
                continue
            new = chain.row_at(t)
            old = rows.get(key)
            if new is None:
                if old is not None:
                    del rows[key]
                    delta.removed.add(key)
            elif old is None:
                rows[key] = new
                delta.added.add(key)
            elif old is not new and old != new:
                rows[key] = new
                delta.modified.add(key)
        self.t = t
        if t > self.tmap.horizon:
            self.tmap.horizon = t
        return delta

    def _rebuild(self, t: int) -> CursorDelta:
        old = self.rows
        self.rows = self.tmap.rows_at(t, self.type, self.namespaces)
        _, self._late_mark = self.tmap.late_writes_since(0)
        self.t = t
        if t > self.tmap.horizon:
            self.tmap.horizon = t
        new = self.rows
        delta = CursorDelta(rebuilt=True)
        delta.added = new.keys() - old.keys()
        delta.removed = old.keys() - new.keys()
        # rows equal to the previous version's are the same object (the chain shares them)
        delta.modified = {
            k for k in new.keys() & old.keys() if new[k] is not old[k] and new[k] != old[k]
        }
        return delta
