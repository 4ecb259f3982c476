"""The rows of one table, filtered and sorted, updated by cursor deltas (no UI here).

Rows live in a SortedList of sort entries, so a delta of k changes costs O(k log n), not a
re-sort of 10,000 rows; the row at display index i and the index of a key are O(log n), which
is what a virtual table needs to draw its visible lines and keep the selection on its object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedList

from khronoscope.core.types import ObjectKey
from khronoscope.printers import CellKind, ColumnSet, Row, max_width, sort_value
from khronoscope.tui.filters import Filter

NAMESPACE = -2
NAME = -1

Entry = tuple[Any, str, str]
_MEASURE_ALL = 2000
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_NAMESPACE_OF = itemgetter(1)
_NAME_OF = itemgetter(2)
_FIXED = frozenset({CellKind.AGE, CellKind.DURATION, CellKind.TIMESTAMP})
Resolver = Callable[[ObjectKey, Any], Row | None]
ValuesOf = Callable[[list[ObjectKey]], list[Any]]  # sort values of many keys at once


class TableModel:
    """Rows of one type in one scope at one t, as the table shows them.

    `resolve(key, stored)` turns a stored row into a Row of this layout (the stored one when it
    already is, else recomputed from the object); None drops the row.
    """

    def __init__(
        self,
        type_name: str,
        columns: ColumnSet,
        show_namespace: bool,
        resolve: Resolver | None = None,
    ) -> None:
        self.type_name = type_name
        self.columns = columns
        self.show_namespace = show_namespace
        self.resolve = resolve
        self._kinds = tuple(c.kind for c in columns.columns)
        self._filter = Filter().with_kinds(self._kinds)
        self.sort_column = NAMESPACE if show_namespace else NAME
        self.descending = False
        # a sort by something the rows do not hold (usage at t): its header and its values
        self.sort_name = ""
        self._value_of: ValuesOf | None = None
        self.rows: dict[ObjectKey, Row] = {}
        self._entries: dict[ObjectKey, Entry] = {}
        self._sorted: SortedList = SortedList()
        self.widths: list[int] = []
        self.ns_width = len("NAMESPACE")
        self.name_width = len("NAME")
        self.total = 0

    @property
    def filter(self) -> Filter:
        """The filter, matching cells as this table's columns display them."""
        return self._filter

    @filter.setter
    def filter(self, flt: Filter) -> None:
        self._filter = flt.with_kinds(self._kinds)

    # --- contents ----------------------------------------------------------------------------

    def reset(self, stored: Mapping[ObjectKey, Any]) -> None:
        """Replace every row (a new scope, a rebuilt cursor)."""
        fmt = self.columns.fmt
        rows = {k: v for k, v in stored.items() if type(v) is Row and v.fmt == fmt}
        if len(rows) != len(stored):
            for key, value in stored.items():
                if key not in rows:
                    row = self._row(key, value)
                    if row is not None:
                        rows[key] = row
        self.rows = rows
        self.total = len(rows)
        self._rebuild()

    def apply(
        self,
        stored: Mapping[ObjectKey, Any],
        added: Iterable[ObjectKey],
        modified: Iterable[ObjectKey],
        removed: Iterable[ObjectKey],
    ) -> bool:
        """Apply a cursor delta; `stored` is the cursor's rows after the move. True if the
        visible rows or their order may have changed."""
        rows = self.rows
        removed = list(removed)
        added = list(added)
        changed_keys = [*added, *modified]
        for key in removed:
            rows.pop(key, None)
        fresh: list[tuple[ObjectKey, Row]] = []
        fmt = self.columns.fmt
        for key in changed_keys:
            value = stored.get(key)
            if type(value) is Row and value.fmt == fmt:
                row = value
            else:
                row = self._row(key, value) if value is not None else None
            if row is None:
                rows.pop(key, None)
                removed.append(key)
            else:
                rows[key] = row
                fresh.append((key, row))
        self.total = len(rows)
        entries = self._entries
        flt = self.filter
        active = flt.active
        if not active and self.sort_column in (NAME, NAMESPACE):
            # sorted by identity: a changed row never moves, only new ones are placed
            moves = [(key, row, True) for key, row in fresh if key not in entries]
        else:
            entry_of = self._entry
            moves = []
            for key, row in fresh:
                old = entries.get(key)
                shown = not active or flt.matches(key, row)
                if old is not None and shown and old == entry_of(key, row):
                    continue
                moves.append((key, row, shown))
        # names never change for a key; cells of a bulk change are measured when drawn (grow)
        added_keys = set(added)
        self._measure([(k, r) for k, r in fresh if k in added_keys], reset=False)
        if len(fresh) <= _MEASURE_ALL:
            self._measure(fresh, reset=False, names=False)
        if not removed and not moves:
            return False
        if len(removed) + len(moves) > max(len(rows) // 8, 256):
            # a long jump through time: one sort beats thousands of inserts
            self._rebuild(measure=False)
        else:
            for key in removed:
                self._drop(key)
            for key, row, shown in moves:
                self._drop(key)
                if shown:
                    self._add(key, row)
        return True

    def _row(self, key: ObjectKey, value: Any) -> Row | None:
        if type(value) is Row and value.fmt == self.columns.fmt:
            return value
        return self.resolve(key, value) if self.resolve is not None else None

    # --- filter and sort ---------------------------------------------------------------------

    def set_filter(self, flt: Filter) -> None:
        """Show only rows matching `flt`."""
        self.filter = flt
        self._rebuild()

    def set_sort(self, column: int, descending: bool) -> None:
        """Sort by NAMESPACE (-2), NAME (-1) or cell column `column`."""
        self.sort_column = column
        self.descending = descending
        self.sort_name, self._value_of = "", None
        self._rebuild()

    def set_value_sort(self, column: int, name: str, values_of: ValuesOf, descending: bool) -> None:
        """Sort by `values_of(keys)`, values that change with t without a row changing (usage
        columns): `resort()` again whenever t moves."""
        self.sort_column = column
        self.descending = descending
        self.sort_name, self._value_of = name, values_of
        self._rebuild(measure=False)

    @property
    def sorted_by_value(self) -> bool:
        """True while sorted by a `set_value_sort` function."""
        return self._value_of is not None

    def resort(self) -> None:
        """Order the rows again by the value function (t moved): only the rows whose value
        changed move (usage changes for a few pods per sample interval, not all at once)."""
        values_of = self._value_of
        if values_of is None:
            return
        entries = self._entries
        keys = list(entries)
        values = values_of(keys)
        moved = [
            (key, (value, key[1], key[2]))
            for key, value in zip(keys, values, strict=True)
            if entries[key][0] != value
        ]
        if len(moved) > max(len(keys) // 8, 256):
            # most values changed (a jump): one sort of what was just computed
            self._entries = {k: (v, k[1], k[2]) for k, v in zip(keys, values, strict=True)}
            self._sorted = SortedList(self._entries.values())
            return
        for key, entry in moved:
            self._sorted.remove(entries[key])
            entries[key] = entry
            self._sorted.add(entry)

    def _entry(self, key: ObjectKey, row: Row) -> Entry:
        if self._value_of is not None:
            return (self._value_of([key])[0], key.namespace, key.name)
        col = self.sort_column
        if col == NAME:
            return (key.name, key.namespace, key.name)
        if col == NAMESPACE:
            return (key.namespace, key.namespace, key.name)
        kind = self.columns.columns[col].kind
        return (sort_value(kind, row.cells[col]), key.namespace, key.name)

    def _rebuild(self, measure: bool = True) -> None:
        flt = self.filter
        rows = self.rows
        if flt.active:
            rows = {k: r for k, r in rows.items() if flt.matches(k, r)}
        col = self.sort_column
        value_of = self._value_of
        if value_of is not None:
            keys = list(rows)
            entries = {k: (v, k[1], k[2]) for k, v in zip(keys, value_of(keys), strict=True)}
        elif col == NAME:
            entries = {k: (k[2], k[1], k[2]) for k in rows}
        elif col == NAMESPACE:
            entries = {k: (k[1], k[1], k[2]) for k in rows}
        else:
            kind = self.columns.columns[col].kind
            entries = {k: (sort_value(kind, r.cells[col]), k[1], k[2]) for k, r in rows.items()}
        self._entries = entries
        self._sorted = SortedList(entries.values())
        if measure:
            self._measure(self.rows.items(), reset=True)

    def _drop(self, key: ObjectKey) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._sorted.remove(entry)
        return True

    def _add(self, key: ObjectKey, row: Row) -> bool:
        if self.filter.active and not self.filter.matches(key, row):
            return False
        entry = self._entry(key, row)
        self._entries[key] = entry
        self._sorted.add(entry)
        return True

    def _measure(
        self, items: Iterable[tuple[ObjectKey, Row]], reset: bool, names: bool = True
    ) -> None:
        """Column widths only grow between rebuilds, so rows never jitter while live. Columns
        whose width does not depend on the value (ages) are sized once; the rest are measured
        a column at a time with C-level map/max (10,000 rows in a few ms)."""
        cols = self.columns.columns
        if reset:
            self.widths = [
                max(len(c.name), max_width(c.kind, None)) if c.kind in _FIXED else len(c.name)
                for c in cols
            ]
            self.ns_width = len("NAMESPACE")
            self.name_width = len("NAME")
        pairs = list(items)
        if not pairs:
            return
        if names:
            keys = [k for k, _ in pairs]
            self.ns_width = max(self.ns_width, max(map(len, map(_NAMESPACE_OF, keys))))
            self.name_width = max(self.name_width, max(map(len, map(_NAME_OF, keys))))
        cells = [r.cells for _, r in pairs if len(r.cells) >= len(cols)]
        if not cells:
            return
        widths = self.widths
        for i, c in enumerate(cols):
            if c.kind in _FIXED:
                continue
            values = list(map(itemgetter(i), cells))
            if c.kind is CellKind.RESTARTS:
                w = max(map(len, map(str, map(_FIRST, values))))
                if any(map(_SECOND, values)):
                    w += 12  # " (5m30s ago)"
            else:
                w = max(map(len, map(str, values)))
                if c.kind is CellKind.NUMBER and None in values:
                    w = max(w, 6)  # <none>
            if w > widths[i]:
                widths[i] = w

    def grow(self, column: int, width: int) -> bool:
        """Widen a column to fit a cell seen while drawing (rows changed in bulk are not all
        measured); True if it grew."""
        if column == NAMESPACE:
            if width > self.ns_width:
                self.ns_width = width
                return True
        elif column == NAME:
            if width > self.name_width:
                self.name_width = width
                return True
        elif 0 <= column < len(self.widths) and width > self.widths[column]:
            self.widths[column] = width
            return True
        return False

    # --- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._sorted)

    def key_at(self, index: int) -> ObjectKey:
        """The key shown at display index `index`."""
        n = len(self._sorted)
        entry = self._sorted[n - 1 - index if self.descending else index]
        return ObjectKey(self.type_name, entry[1], entry[2])

    def keys_in(self, start: int, stop: int) -> list[ObjectKey]:
        """Keys shown at display indexes start..stop-1 (the visible window)."""
        n = len(self._sorted)
        start, stop = max(start, 0), min(stop, n)
        if start >= stop:
            return []
        if self.descending:
            entries = list(reversed(self._sorted[n - stop : n - start]))
        else:
            entries = self._sorted[start:stop]
        t = self.type_name
        return [ObjectKey(t, e[1], e[2]) for e in entries]

    def index_of(self, key: ObjectKey) -> int | None:
        """Display index of `key`, None when it is not shown."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        i = self._sorted.index(entry)
        return len(self._sorted) - 1 - i if self.descending else i

    def nearest_index(self, key: ObjectKey, row: Row) -> int:
        """Where `key` with its last known row would be shown (for a selection whose object
        just went away or was filtered out)."""
        i = self._sorted.bisect_left(self._entry(key, row))
        n = len(self._sorted)
        return max(0, min(n - 1, n - 1 - i if self.descending else i))
