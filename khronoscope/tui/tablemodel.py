"""The rows of one table, filtered and sorted, updated by cursor deltas (no UI here).

Rows live in a SortedList of sort entries, so a delta of k changes costs O(k log n), not a
re-sort of 10,000 rows; the row at display index i and the index of a key are O(log n), which
is what a virtual table needs to draw its visible lines and keep the selection on its object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sortedcontainers import SortedList

from khronoscope.core.types import ObjectKey
from khronoscope.printers import ColumnSet, Row, max_width, sort_value
from khronoscope.tui.filters import Filter

NAMESPACE = -2
NAME = -1

Entry = tuple[Any, str, str]
Resolver = Callable[[ObjectKey, Any], Row | None]


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
        self.filter = Filter()
        self.sort_column = NAMESPACE if show_namespace else NAME
        self.descending = False
        self.rows: dict[ObjectKey, Row] = {}
        self._entries: dict[ObjectKey, Entry] = {}
        self._sorted: SortedList = SortedList()
        self.widths: list[int] = []
        self.ns_width = len("NAMESPACE")
        self.name_width = len("NAME")
        self.total = 0

    # --- contents ----------------------------------------------------------------------------

    def reset(self, stored: Mapping[ObjectKey, Any]) -> None:
        """Replace every row (a new scope, a rebuilt cursor)."""
        self.rows = {}
        for key, value in stored.items():
            row = self._row(key, value)
            if row is not None:
                self.rows[key] = row
        self.total = len(self.rows)
        self._rebuild()

    def apply(
        self,
        stored: Mapping[ObjectKey, Any],
        added: Iterable[ObjectKey],
        modified: Iterable[ObjectKey],
        removed: Iterable[ObjectKey],
    ) -> bool:
        """Apply a cursor delta; `stored` is the cursor's rows after the move. True if the
        visible rows or their order changed."""
        changed = False
        for key in removed:
            changed |= self._drop(key)
            self.rows.pop(key, None)
        for key in (*added, *modified):
            value = stored.get(key)
            row = self._row(key, value) if value is not None else None
            changed |= self._drop(key)
            if row is None:
                self.rows.pop(key, None)
                continue
            self.rows[key] = row
            changed |= self._add(key, row)
        self.total = len(self.rows)
        return changed

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
        self._rebuild()

    def _entry(self, key: ObjectKey, row: Row) -> Entry:
        col = self.sort_column
        if col == NAME:
            return (key.name, key.namespace, key.name)
        if col == NAMESPACE:
            return (key.namespace, key.namespace, key.name)
        kind = self.columns.columns[col].kind
        return (sort_value(kind, row.cells[col]), key.namespace, key.name)

    def _rebuild(self) -> None:
        flt = self.filter
        active = flt.active
        entries = {
            key: self._entry(key, row)
            for key, row in self.rows.items()
            if not active or flt.matches(key, row)
        }
        self._entries = entries
        self._sorted = SortedList(entries.values())
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
        self._measure(((key, row),), reset=False)
        return True

    def _measure(self, items: Iterable[tuple[ObjectKey, Row]], reset: bool) -> None:
        """Column widths only grow between rebuilds, so rows never jitter while live."""
        cols = self.columns.columns
        if reset:
            self.widths = [len(c.name) for c in cols]
            self.ns_width = len("NAMESPACE")
            self.name_width = len("NAME")
        widths = self.widths
        kinds = [c.kind for c in cols]
        ns_w, name_w = self.ns_width, self.name_width
        n = len(kinds)
        for key, row in items:
            if len(key.namespace) > ns_w:
                ns_w = len(key.namespace)
            if len(key.name) > name_w:
                name_w = len(key.name)
            cells = row.cells
            for i in range(min(n, len(cells))):
                w = max_width(kinds[i], cells[i])
                if w > widths[i]:
                    widths[i] = w
        self.ns_width, self.name_width = ns_w, name_w

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
