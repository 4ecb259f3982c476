"""A view of one type at a time t that moves by applying only what changed.

The cursor knows which objects exist at t and which version of each is in force; rows (what a
table shows of a version) are computed only when asked for (`rows[key]`, `rows.pick(keys)`), so
a move costs the changes crossed, and drawing costs the rows on screen, not the whole table.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from khronoscope.core.types import ObjectKey
from khronoscope.temporal.map import Namespaces, _ns_set
from khronoscope.temporal.reader import TemporalReader


@dataclass(slots=True)
class CursorDelta:
    """What a move changed in the view: keys that appeared, changed version, or disappeared.

    `modified` holds every key whose version in force changed, also when its row reads the
    same (rows are not computed to find out)."""

    added: set[ObjectKey] = field(default_factory=set)
    modified: set[ObjectKey] = field(default_factory=set)
    removed: set[ObjectKey] = field(default_factory=set)
    rebuilt: bool = False
    crossed: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.removed or self.rebuilt)


class CursorRows(Mapping[ObjectKey, Hashable]):
    """The rows of a cursor's view at its current t: keys are known, rows computed on demand
    (and kept by the map for the versions seen last)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    def __getitem__(self, key: ObjectKey) -> Hashable:
        c = self._cursor
        if key not in c.versions or c.t is None:
            raise KeyError(key)
        row = c.tmap.row(key, c.t)
        if row is None:  # only if the map changed under a cursor that has not moved since
            raise KeyError(key)
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._cursor.versions

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(self._cursor.versions)

    def __len__(self) -> int:
        return len(self._cursor.versions)

    def pick(self, keys: Iterable[ObjectKey]) -> dict[ObjectKey, Hashable]:
        """The rows of several keys at once (their versions decoded in one pass)."""
        c = self._cursor
        if c.t is None:
            return {}
        versions = c.versions
        return c.tmap.rows_of([k for k in keys if k in versions], c.t)


class Cursor:
    """The objects of one type (optionally some namespaces) at `t`, and their rows on demand.

    `seek(t')` costs the number of changes between t and t' (forwards or backwards); when that is
    larger than rebuilding from the chains, it rebuilds instead, so a jump is never worse than a
    fresh query. `versions` maps each key in view to the time of its version in force; `rows`
    is a mapping of the same keys whose rows are computed when read.
    """

    def __init__(self, tmap: TemporalReader, type: str, namespace: Namespaces = None) -> None:
        self.tmap = tmap
        self.type = type
        self.namespaces = _ns_set(namespace)
        self.t: int | None = None
        self.versions: dict[ObjectKey, int] = {}
        self.rows = CursorRows(self)
        self._late_mark = 0
        self._trims = tmap.trims

    def seek(self, t: int) -> CursorDelta:
        """Move to t; return what changed in the view."""
        if self.t is None or self._trims != self.tmap.trims:
            self._trims = self.tmap.trims
            return self._rebuild(t)
        late, self._late_mark = self.tmap.late_writes_since(self._late_mark)
        lo, hi = (self.t, t) if t >= self.t else (t, self.t)
        budget = max(len(self.versions), 1024)
        if hi > lo and self.tmap.count_changes(lo + 1, hi, self.type, self.namespaces) > budget:
            return self._rebuild(t, late)
        kids, crossed = self.tmap.changed_keys(lo, hi, self.type, self.namespaces)
        # a late write may have changed the past the cursor already crossed: re-read those keys
        late_kids = {kid for _, kid in late}
        kids.update(late_kids)
        delta = CursorDelta(crossed=crossed)
        versions = self.versions
        tmap = self.tmap
        for kid in kids:
            key = tmap.key_of(kid)
            if key.type != self.type or (
                self.namespaces is not None and key.namespace not in self.namespaces
            ):
                continue
            new = tmap.version_at(key, t)
            old = versions.get(key)
            if new is None:
                if old is not None:
                    del versions[key]
                    delta.removed.add(key)
            elif old is None:
                versions[key] = new
                delta.added.add(key)
            elif old != new or kid in late_kids:  # a late write may replace a version in place
                versions[key] = new
                delta.modified.add(key)
        self.t = t
        if t > self.tmap.horizon:
            self.tmap.horizon = t
        return delta

    def open_at(self, t: int) -> None:
        """Move to t from the chains, without saying what changed (a view opened anew reads
        every key anyway: the delta's sets of every key would be thrown away)."""
        self._trims = self.tmap.trims
        self._move(t)

    def _move(self, t: int) -> dict[ObjectKey, int]:
        old = self.versions
        self.versions = self.tmap.versions_at(t, self.type, self.namespaces)
        _, self._late_mark = self.tmap.late_writes_since(0)
        self.t = t
        if t > self.tmap.horizon:
            self.tmap.horizon = t
        return old

    def _rebuild(self, t: int, late: list[tuple[int, int]] | None = None) -> CursorDelta:
        old = self._move(t)
        new = self.versions
        delta = CursorDelta(rebuilt=True)
        delta.added = new.keys() - old.keys()
        delta.removed = old.keys() - new.keys()
        delta.modified = {k for k in new.keys() & old.keys() if new[k] != old[k]}
        for _, kid in late or ():
            key = self.tmap.key_of(kid)
            if key in new and key in old:
                delta.modified.add(key)
        return delta
