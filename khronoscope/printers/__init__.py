"""kubectl-like table rows for every resource type, computed from plain object dicts.

`row_for(type_name, obj)` is the TemporalMap's `row_fn`: it computes what a table shows of one
version (cells that do not depend on t, labels for selectors) when a view first shows that
version; the map keeps the rows of the versions shown last. `columns_for` gives the headers and
`format_cell` prints a cell as of t. No UI here: the CLI's commands use it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from khronoscope.core.provenance import is_unknown
from khronoscope.printers.columns import (
    CellKind,
    Column,
    ColumnSet,
    Row,
    format_cell,
    max_width,
    sort_value,
)
from khronoscope.printers.crd import CRD_TYPE, CrdColumns
from khronoscope.printers.kube import BUILTIN, GENERIC_COLUMNS, generic_cells, ts

if TYPE_CHECKING:
    from khronoscope.core.types import ResourceType

__all__ = [
    "CRD_TYPE",
    "CellKind",
    "Column",
    "ColumnSet",
    "Row",
    "RowPrinter",
    "columns_for",
    "format_cell",
    "max_width",
    "row_for",
    "row_with",
    "sort_value",
]

_EMPTY: dict[str, Any] = {}
GENERIC = ColumnSet("", GENERIC_COLUMNS)


class RowPrinter:
    """Rows for every type; learns CRDs' printer columns from the CRD objects it sees.

    It learns a CRD's columns from the CRD objects it prints; a table of custom resources
    gets its columns from the CRD as of t (`columns_for(..., crd)`), and a row printed in
    another layout is recomputed in that one when shown.
    """

    def __init__(self) -> None:
        self._crd_objs: dict[str, dict[str, Any]] = {}
        self._crd_cache: dict[tuple[str, str], CrdColumns | None] = {}

    def __call__(self, type_name: str, obj: dict[str, Any]) -> Row:
        return self.row_for(type_name, obj)

    def learn_crd(self, crd: dict[str, Any]) -> None:
        """Remember a CRD's printer columns (called for every CRD version ingested)."""
        name = (crd.get("metadata") or _EMPTY).get("name")
        if not name:
            return
        self._crd_objs[name] = crd
        for k in [k for k in self._crd_cache if k[0] == name]:
            del self._crd_cache[k]

    def crd_columns(self, type_name: str, version: str = "") -> CrdColumns | None:
        """The printer columns known for a custom resource type (None: NAME and AGE)."""
        key = (type_name, version)
        if key in self._crd_cache:
            return self._crd_cache[key]
        crd = self._crd_objs.get(type_name)
        found = CrdColumns.from_crd(crd, version or None) if crd is not None else None
        self._crd_cache[key] = found
        return found

    def row_for(self, type_name: str, obj: dict[str, Any]) -> Row:
        """The row of one version of an object of `type_name` (never raises: a malformed
        object gets `<error>` cells)."""
        label_items = _labels(obj)
        printer = BUILTIN.get(type_name)
        unknown = is_unknown(obj)
        if printer is not None:
            if unknown:  # a state nobody knows (audit log without body): said, not blank
                return Row(unknown_cells(printer[0]), label_items, type_name)
            try:
                if type_name == CRD_TYPE:
                    self.learn_crd(obj)
                return Row(printer[1](obj), label_items, type_name)
            except Exception:
                # an object that breaks kubectl's assumptions must not stop ingestion
                return Row(fallback_cells(printer[0], obj), label_items, type_name)
        if type_name in self._crd_objs:
            version = str(obj.get("apiVersion") or "").rpartition("/")[2]
            crd = self.crd_columns(type_name, version)
            if crd is not None:
                if unknown:
                    return Row(unknown_cells(crd.columns), label_items, crd.fmt)
                try:
                    return Row(crd.cells(obj), label_items, crd.fmt)
                except Exception:
                    return Row(fallback_cells(crd.columns, obj), label_items, crd.fmt)
        return Row(generic_cells(obj), label_items, "")  # generic_cells cannot fail

    def columns_for(
        self,
        type_name: str,
        resource_type: ResourceType | None = None,
        crd: dict[str, Any] | None = None,
    ) -> ColumnSet:
        """Headers after NAMESPACE/NAME for `type_name`; `crd` is the CRD object as of t."""
        printer = BUILTIN.get(type_name)
        if printer is not None:
            return ColumnSet(type_name, printer[0], printer[1])
        version = resource_type.version if resource_type is not None else None
        found = (
            CrdColumns.from_crd(crd, version)
            if crd is not None
            else self.crd_columns(type_name, version or "")
        )
        if found is None:
            return GENERIC
        return ColumnSet(found.fmt, found.columns, found.cells)


_DEFAULT = RowPrinter()


def row_for(type_name: str, obj: dict[str, Any]) -> Row:
    """The row of one version (the TemporalMap's `row_fn`); see `RowPrinter.row_for`."""
    return _DEFAULT.row_for(type_name, obj)


def columns_for(
    type_name: str, resource_type: ResourceType | None = None, crd: dict[str, Any] | None = None
) -> ColumnSet:
    """Headers of `type_name`'s table; see `RowPrinter.columns_for`."""
    return _DEFAULT.columns_for(type_name, resource_type, crd)


def row_with(columns: ColumnSet, obj: dict[str, Any]) -> Row:
    """A row for `obj` in the layout of `columns` (for rows stored in another layout)."""
    cells_fn = columns.cells_fn or generic_cells
    try:
        cells = cells_fn(obj)
    except Exception:
        cells = fallback_cells(columns.columns, obj)
    return Row(cells, _labels(obj), columns.fmt)


def _labels(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict) or not labels:
        return ()
    return tuple((str(k), str(v)) for k, v in labels.items())


UNKNOWN_CELL = "<unknown>"


def unknown_cells(columns: tuple[Column, ...]) -> tuple[Any, ...]:
    """Cells for a version whose content is not known: `<unknown>` wherever a value shows."""
    empty: dict[CellKind, Any] = {
        CellKind.AGE: None,
        CellKind.RESTARTS: (0, None),
        CellKind.DURATION: (None, None),
        CellKind.TIMESTAMP: None,
    }
    return tuple(empty.get(c.kind, UNKNOWN_CELL) for c in columns)


def fallback_cells(columns: tuple[Column, ...], obj: dict[str, Any]) -> tuple[Any, ...]:
    """Cells for an object its printer cannot read: `<error>` text, the age when readable."""
    meta = obj.get("metadata")
    created = ts(meta.get("creationTimestamp")) if isinstance(meta, dict) else None
    empty: dict[CellKind, Any] = {
        CellKind.TEXT: "<error>",
        CellKind.NUMBER: None,
        CellKind.AGE: None,
        CellKind.RESTARTS: (0, None),
        CellKind.DURATION: (None, None),
        CellKind.TIMESTAMP: None,
    }
    return tuple(created if c.name == "AGE" else empty.get(c.kind, "<error>") for c in columns)
