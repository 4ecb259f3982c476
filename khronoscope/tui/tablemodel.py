"""The rows of one table, filtered and sorted, updated by cursor deltas (no UI here).

Keys live in a SortedList of sort entries, so a delta of k changes costs O(k log n), not a
re-sort of 10,000 rows; the key at display index i and the index of a key are O(log n), which
is what a virtual table needs to draw its visible lines and keep the selection on its object.
Rows are computed when needed: the ones drawn (`prepare`), and all of them only while a sort or
filter reads their cells or labels; a table sorted by name at a past t decodes ~40 versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedList

from khronoscope.core.types import ObjectKey
from khronoscope.printers import CellKind, ColumnSet, Row, max_width, sort_value
from khronoscope.temporal import CursorRows
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
_MISSING = object()


def _pick(stored: Mapping[ObjectKey, Any], keys: Iterable[ObjectKey]) -> dict[ObjectKey, Any]:
    """The stored rows of `keys` (a cursor's decoded in one pass)."""
    if isinstance(stored, CursorRows):
        return stored.pick(keys)
    return {k: v for k in keys if (v := stored.get(k, _MISSING)) is not _MISSING}


class ModelRows(Mapping[ObjectKey, Row]):
    """A model's rows by key, each computed the first time it is read at the model's t."""

    __slots__ = ("_model",)

    def __init__(self, model: TableModel) -> None:
        self._model = model

    def __getitem__(self, key: ObjectKey) -> Row:
        row = self._model.row(key)
        if row is None:
            raise KeyError(key)
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._model.stored

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(self._model.stored)

    def __len__(self) -> int:
        return len(self._model.stored)


class TableModel:
    """Rows of one type in one scope at one t, as the table shows them.

    `stored` (a Cursor's `rows`, or any mapping) says which keys are in view and gives their
    rows when read; `resolve(key, stored_row)` turns a stored row into a Row of this layout
    (the stored one when it already is, else recomputed from the object); a key whose row
    cannot be resolved shows empty cells (or is left out while a sort or filter reads rows).
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
        self.stored: Mapping[ObjectKey, Any] = {}
        # rows drawn at the current t (None: could not be resolved); dropped when their key's
        # version changes
        self._rows: dict[ObjectKey, Row | None] = {}
        self.rows: Mapping[ObjectKey, Row] = ModelRows(self)
        self._entries: dict[ObjectKey, Entry] = {}
        self._sorted: SortedList = SortedList()
        self.widths: list[int] = []
        self.ns_width = len("NAMESPACE")
        self.name_width = len("NAME")
        self.total = 0
        if columns is not None:  # a bench builds a model for its sort alone
            self._reset_widths()

    @property
    def filter(self) -> Filter:
        """The filter, matching cells as this table's columns display them."""
        return self._filter

    @filter.setter
    def filter(self, flt: Filter) -> None:
        self._filter = flt.with_kinds(self._kinds)

    # --- contents ----------------------------------------------------------------------------

    def reset(self, stored: Mapping[ObjectKey, Any]) -> None:
        """Show the keys of `stored` (a new scope, a rebuilt cursor); rows are read from it
        when needed."""
        self.stored = stored
        self._rows = {}
        self.total = len(stored)
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
        self.stored = stored
        cached = self._rows
        removed = list(removed)
        added = list(added)
        changed_keys = [*added, *modified]
        for key in removed:
            cached.pop(key, None)
        for key in changed_keys:
            cached.pop(key, None)  # a new version: its row is read again when needed
        self.total = len(stored)
        flt = self.filter
        active = flt.active
        moves: list[tuple[ObjectKey, Row | None, bool]] = []
        if self._needs_rows():
            fresh = self._fill(changed_keys)
            entry_of = self._entry
            for key in changed_keys:
                row = fresh.get(key)
                if row is None:
                    removed.append(key)
                    continue
                old = self._shown_entry(key)
                shown = not active or flt.matches(key, row)
                if old is not None and shown and old == entry_of(key, row):
                    continue
                moves.append((key, row, shown))
        else:
            # the order reads no row: only keys coming into view are placed (a name never
            # changes for a key, nor, without a row-reading filter, whether it is shown)
            moves = [
                (key, None, not active or flt.matches(key, None))
                for key in added
                if not self._shown(key)
            ]
        self._measure_names(added)
        if not removed and not moves:
            return False
        if len(removed) + len(moves) > max(len(stored) // 8, 256):
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

    def default_order(self, sort_column: int) -> bool:
        """True while sorted ascending by `sort_column` (no value sort): a fresh model's order."""
        return self._value_of is None and self.sort_column == sort_column and not self.descending

    def reopen(self, flt: Filter) -> None:
        """Show again with `flt`, exactly as a fresh model over the same rows would be shown:
        rows drawn so far forgotten, columns sized anew (by every row when rows are read)."""
        changed = self._filter != flt.with_kinds(self._kinds)
        self.filter = flt
        self._rows = {}
        if changed or self._needs_rows():
            self._rebuild()
        else:
            self._reset_widths()
            self._measure_names(list(self.stored))

    def row(self, key: ObjectKey) -> Row | None:
        """The row of `key` at the model's t (computed on the first read; None when the key is
        not in view or its row cannot be resolved)."""
        row = self._rows.get(key, _MISSING)
        if row is _MISSING:
            value = self.stored.get(key)
            row = self._row(key, value) if value is not None else None
            self._rows[key] = row
            if row is not None:
                self._measure([(key, row)])
        return row  # type: ignore[return-value]

    def prepare(self, start: int, stop: int) -> bool:
        """Compute the rows shown at display indexes start..stop-1 (before drawing them, in one
        pass); True if a column had to grow to fit them."""
        widths = list(self.widths)
        self._fill(self.keys_in(start, stop), keep=True)
        return self.widths != widths

    def _fill(self, keys: Iterable[ObjectKey], keep: bool = False) -> dict[ObjectKey, Row]:
        """The rows of `keys` (None-free), computing the missing ones in one pass; `keep` them
        for drawing (rows read only to sort or filter are not kept: the map keeps the last
        ones it made, and a big table's rows would double its memory)."""
        cached = self._rows
        out: dict[ObjectKey, Row] = {}
        missing: list[ObjectKey] = []
        for key in keys:
            row = cached.get(key, _MISSING)
            if row is _MISSING:
                missing.append(key)
            elif row is not None:
                out[key] = row  # type: ignore[assignment]
        if not missing:
            return out
        fresh: list[tuple[ObjectKey, Row]] = []
        stored = _pick(self.stored, missing)
        for key in missing:
            value = stored.get(key)
            row = self._row(key, value) if value is not None else None
            if keep:
                cached[key] = row
            if row is not None:
                out[key] = row
                fresh.append((key, row))
        self._measure(fresh)
        return out

    def _row(self, key: ObjectKey, value: Any) -> Row | None:
        if type(value) is Row and value.fmt == self.columns.fmt:
            return value
        return self.resolve(key, value) if self.resolve is not None else None

    def _needs_rows(self) -> bool:
        """True while the order or the filter reads cells or labels of every row."""
        by_cells = self._value_of is None and self.sort_column >= 0
        return by_cells or self.filter.needs_row

    # --- filter and sort ---------------------------------------------------------------------

    def set_filter(self, flt: Filter) -> None:
        """Show only rows matching `flt`."""
        self.filter = flt
        self._rebuild(measure=False)

    def set_sort(self, column: int, descending: bool) -> None:
        """Sort by NAMESPACE (-2), NAME (-1) or cell column `column`."""
        self.sort_column = column
        self.descending = descending
        self.sort_name, self._value_of = "", None
        self._rebuild(measure=False)

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

    def _entry(self, key: ObjectKey, row: Row | None) -> Entry:
        if self._value_of is not None:
            return (self._value_of([key])[0], key.namespace, key.name)
        col = self.sort_column
        if col == NAME:
            return (key.name, key.namespace, key.name)
        if col == NAMESPACE:
            # the key is its own entry: (type, namespace, name) of one type sorts by namespace
            if key[0] != self.type_name:
                key = ObjectKey(self.type_name, key[1], key[2])
            return key
        kind = self.columns.columns[col].kind
        assert row is not None, "a sort by a column reads rows"
        return (sort_value(kind, row.cells[col]), key.namespace, key.name)

    def _rebuild(self, measure: bool = True) -> None:
        keys = list(self.stored)
        if measure:
            self._reset_widths()
            self._measure(self._known_rows())
            self._measure_names(keys)
        flt = self.filter
        rows: dict[ObjectKey, Row] = {}
        if self._needs_rows():
            rows = self._fill(keys)
            keys = list(rows)  # a row that cannot be resolved cannot be sorted or matched
        if flt.active:
            keys = [k for k in keys if flt.matches(k, rows.get(k))]
        col = self.sort_column
        value_of = self._value_of
        self._entries = {}
        if value_of is None and col == NAMESPACE:
            # at 50,000 pods a switch of view is mostly this sort: the keys are their own
            # entries, and no dict of them is built
            self._sorted = SortedList(keys)
            return
        if value_of is None and col == NAME:
            names = list(map(_NAME_OF, keys))
            self._sorted = SortedList(zip(names, map(_NAMESPACE_OF, keys), names, strict=True))
            return
        if value_of is not None:
            entries = {k: (v, k[1], k[2]) for k, v in zip(keys, value_of(keys), strict=True)}
        else:
            kind = self.columns.columns[col].kind
            entries = {k: (sort_value(kind, rows[k].cells[col]), k[1], k[2]) for k in keys}
        self._entries = entries
        self._sorted = SortedList(entries.values())

    def _known_rows(self) -> list[tuple[ObjectKey, Row]]:
        return [(k, r) for k, r in self._rows.items() if r is not None]

    def _measure_names(self, keys: Iterable[ObjectKey]) -> None:
        if not isinstance(keys, list):
            keys = list(keys)
        if keys:
            self.ns_width = max(self.ns_width, max(map(len, map(_NAMESPACE_OF, keys))))
            self.name_width = max(self.name_width, max(map(len, map(_NAME_OF, keys))))

    def _by_key(self) -> bool:
        """True while the order reads nothing but keys (by namespace or name): a key's entry
        is computed from it, and no entry of every key is kept beside the sorted list."""
        return self._value_of is None and self.sort_column in (NAME, NAMESPACE)

    def _shown_entry(self, key: ObjectKey) -> Entry | None:
        """The sort entry of `key` when it is shown, else None."""
        if key[0] != self.type_name:
            return None
        if self._by_key():
            entry = self._entry(key, None)
            return entry if entry in self._sorted else None
        return self._entries.get(key)

    def _shown(self, key: ObjectKey) -> bool:
        return self._shown_entry(key) is not None

    def _drop(self, key: ObjectKey) -> bool:
        entry = self._shown_entry(key)
        if entry is None:
            return False
        self._entries.pop(key, None)
        self._sorted.remove(entry)
        return True

    def _add(self, key: ObjectKey, row: Row | None) -> bool:
        if self.filter.active and not self.filter.matches(key, row):
            return False
        entry = self._entry(key, row)
        if not self._by_key():
            self._entries[key] = entry
        self._sorted.add(entry)
        return True

    def _reset_widths(self) -> None:
        self.widths = [
            max(len(c.name), max_width(c.kind, None)) if c.kind in _FIXED else len(c.name)
            for c in self.columns.columns
        ]
        self.ns_width = len("NAMESPACE")
        self.name_width = len("NAME")

    def _measure(self, items: Iterable[tuple[ObjectKey, Row]]) -> None:
        """Widen columns to fit rows' cells (widths only grow between resets, so rows never
        jitter while live). Columns whose width does not depend on the value (ages) are sized
        once; the rest are measured a column at a time with C-level map/max (10,000 rows in a
        few ms)."""
        cols = self.columns.columns
        cells = [r.cells for _, r in items if len(r.cells) >= len(cols)]
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
        entry = self._shown_entry(key)
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
