"""Columns of a table and how one cell prints at a time t (the time-dependent part of a row).

A row stores only what does not depend on the moment it is looked at: a creation time as ns, a
restart count with the time of the last restart. `format_cell` turns that into `5m`, `3 (2m ago)`
relative to the t being shown, so a row computed once at ingest stays right at any t.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from khronoscope.core.timefmt import format_age, format_k8s_time


class CellKind(enum.Enum):
    """How a cell's stored value prints and sorts."""

    TEXT = "text"
    NUMBER = "number"  # an int (or None: printed `<none>`)
    AGE = "age"  # a time in ns (or None): printed as the age at t
    RESTARTS = "restarts"  # (count, ns of the last restart or None)
    DURATION = "duration"  # (start ns or None, end ns or None): end-start, or t-start if running
    TIMESTAMP = "timestamp"  # a time in ns printed as RFC 3339 (CRDs' CREATED AT)


@dataclass(frozen=True, slots=True)
class Column:
    """One printed column: header, kind, and whether it only shows in wide mode."""

    name: str
    kind: CellKind = CellKind.TEXT
    wide: bool = False


@dataclass(frozen=True, slots=True)
class ColumnSet:
    """The columns of one type's table after NAMESPACE/NAME; `fmt` names the row layout.

    A row made for another layout (a CRD whose printer columns changed, a store without rows)
    must be recomputed from its object before it can be shown with these columns.
    """

    fmt: str
    columns: tuple[Column, ...]
    cells_fn: Callable[[dict[str, Any]], tuple[Any, ...]] | None = field(
        default=None, compare=False
    )

    def index(self, name: str) -> int:
        """Index of the column named `name` (case-insensitive), -1 if absent."""
        upper = name.upper()
        for i, col in enumerate(self.columns):
            if col.name == upper:
                return i
        return -1


class Row(NamedTuple):
    """What a table shows of one version: cells (one per column), labels (for `-l`), layout."""

    cells: tuple[Any, ...]
    labels: tuple[tuple[str, str], ...]
    fmt: str


def format_cell(kind: CellKind, value: Any, t: int) -> str:
    """The text of a cell as of t."""
    if kind is CellKind.TEXT:
        return "" if value is None else str(value)
    if kind is CellKind.AGE:
        return "<unknown>" if value is None else format_age(t - value)
    if kind is CellKind.NUMBER:
        return "<none>" if value is None else str(value)
    if kind is CellKind.RESTARTS:
        count, last = value
        if count and last is not None:
            return f"{count} ({format_age(t - last)} ago)"
        return str(count)
    if kind is CellKind.DURATION:
        start, end = value
        if start is None:
            return ""
        return format_age((end if end is not None else t) - start)
    if kind is CellKind.TIMESTAMP:
        return "<unknown>" if value is None else format_k8s_time(value)
    return str(value)


def sort_value(kind: CellKind, value: Any) -> Any:
    """A key that orders cells of one column the way a user expects (ages by time, counts by
    number); every key of a column has the same type so sorting never compares str with int."""
    if kind is CellKind.TEXT:
        return "" if value is None else str(value)
    if kind is CellKind.AGE:
        # by the age printed: youngest first when ascending; unknown sorts as the oldest
        return (1 << 62) if value is None else -value
    if kind is CellKind.TIMESTAMP:
        return -(1 << 62) if value is None else value
    if kind is CellKind.NUMBER:
        # a malformed object may carry a string where kubectl expects a count
        return value if isinstance(value, int) else -1
    if kind is CellKind.RESTARTS:
        return value[0] if isinstance(value[0], int) else -1
    if kind is CellKind.DURATION:
        start, end = value
        if start is None:
            return -1
        return (end - start) if end is not None else (1 << 62) - start
    return str(value)


def max_width(kind: CellKind, value: Any) -> int:
    """The widest this cell can print at any t (ages are bounded), to size columns once."""
    if kind is CellKind.TEXT:
        return 0 if value is None else len(str(value))
    if kind is CellKind.NUMBER:
        return 6 if value is None else len(str(value))
    if kind in (CellKind.AGE, CellKind.DURATION):
        return 7
    if kind is CellKind.RESTARTS:
        count, last = value
        return len(str(count)) + (12 if count and last is not None else 0)
    if kind is CellKind.TIMESTAMP:
        return 20
    return len(str(value))
