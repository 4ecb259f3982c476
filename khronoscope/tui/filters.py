"""The `/` filter of a table, k9s-style: a regex on the whole row as displayed, `-f` fuzzy on
names, `-l` a label selector, `!` inverts.

    /web          rows whose text (namespace, name, status, node, IP, message...) matches `web`
    /CrashLoop    pods in CrashLoopBackOff; on events, /Warning the warnings
    /!web         rows not matching it
    /-f apicw     names holding a, p, i, c, w in that order (k9s's fuzzy filter)
    /-l app=web   rows whose labels satisfy the selector
    /api -l tier=backend   both

Ages are not part of a row's text (they change with t). Parsing errors raise FilterError with
one line for the message bar; no UI here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.printers import CellKind, Row, format_cell
from khronoscope.printers.selector import Selector, SelectorError, parse_selector

# cells whose text depends on the moment shown: never matched (a filter must not flicker)
_TIMED = frozenset({CellKind.AGE, CellKind.DURATION, CellKind.TIMESTAMP})


class FilterError(ValueError):
    """A filter the user typed that cannot be used (bad regex or selector)."""


def row_text(key: ObjectKey, row: Row | None, kinds: tuple[CellKind, ...] | None) -> str:
    """A row as the table shows it, for matching: namespace, name and every cell that does
    not depend on t (RESTARTS as its count), tab-separated."""
    parts = [key.namespace, key.name]
    if row is not None:
        cells = row.cells
        for i, value in enumerate(cells):
            kind = kinds[i] if kinds is not None and i < len(kinds) else None
            if kind is None:
                # columns unknown: text cells only (an int may be a time)
                if isinstance(value, str):
                    parts.append(value)
            elif kind is CellKind.RESTARTS:
                parts.append(str(value[0]) if isinstance(value, tuple) else str(value))
            elif kind not in _TIMED:
                parts.append(format_cell(kind, value, 0))
    return "\t".join(parts)


def fuzzy_match(needle: str, name: str) -> bool:
    """True when the characters of `needle` appear in `name` in order (case-insensitive)."""
    it = iter(name.lower())
    return all(ch in it for ch in needle.lower())


@dataclass(frozen=True)
class Filter:
    """A parsed filter; `matches(key, row)` decides per row from the row alone. `kinds` are the
    table's column kinds (set by the table model), so cells match as they are displayed."""

    text: str = ""
    pattern: re.Pattern[str] | None = None
    selector: Selector | None = None
    invert: bool = False
    column: tuple[int, str] | None = None
    column_label: str = ""
    fuzzy: str = ""
    kinds: tuple[CellKind, ...] | None = None

    @property
    def active(self) -> bool:
        """True when it filters anything."""
        return (
            self.pattern is not None
            or self.selector is not None
            or self.column is not None
            or bool(self.fuzzy)
        )

    @property
    def needs_row(self) -> bool:
        """True when matching reads a row's cells or labels (a fuzzy name reads only the key)."""
        return self.pattern is not None or self.selector is not None or self.column is not None

    @property
    def label(self) -> str:
        """How the header shows it."""
        parts = [p for p in (self.text, self.column_label) if p]
        return " ".join(parts)

    def matches(self, key: ObjectKey, row: Row | None) -> bool:
        """True when the row is shown (`row` may be None when not `needs_row`)."""
        if self.column is not None:
            index, value = self.column
            if row is None or index >= len(row.cells) or row.cells[index] != value:
                return False
        ok = True
        if self.fuzzy and not fuzzy_match(self.fuzzy, key.name):
            ok = False
        if ok and self.pattern is not None:
            ok = self.pattern.search(row_text(key, row, self.kinds)) is not None
        selector = self.selector
        if ok and selector is not None and (row is None or not selector.matches(row.labels)):
            ok = False
        if self.pattern is None and self.selector is None and not self.fuzzy:
            return True
        return ok != self.invert

    def with_column(self, index: int, value: str, label: str) -> Filter:
        """This filter, also keeping only rows whose cell `index` equals `value`."""
        return dataclasses.replace(self, column=(index, value), column_label=label)

    def with_kinds(self, kinds: tuple[CellKind, ...]) -> Filter:
        """This filter matching cells the way a table of these column kinds shows them."""
        return self if kinds == self.kinds else dataclasses.replace(self, kinds=kinds)


def parse_filter(text: str) -> Filter:
    """Read what the user typed after `/`."""
    raw = text.strip()
    if not raw:
        return Filter()
    body = raw
    invert = body.startswith("!")
    if invert:
        body = body[1:].strip()
    selector = None
    rest = body
    m = re.search(r"(?:^|\s)-l(?:(?:\s+|=)(.*))?$", rest)
    if m:
        rest = rest[: m.start()].strip()
        sel_text = (m.group(1) or "").strip()
        if not sel_text:
            raise FilterError("-l needs a label selector, e.g. -l app=web")
        try:
            selector = parse_selector(sel_text)
        except SelectorError as err:
            raise FilterError(f"bad label selector: {err}") from None
    fuzzy = ""
    f = re.match(r"-f(?:\s+|=|$)(.*)$", rest)
    if f:
        fuzzy = f.group(1).strip()
        if not fuzzy:
            raise FilterError("-f needs letters of a name, e.g. -f apicw")
        rest = ""
    pattern = None
    if rest:
        try:
            pattern = re.compile(rest, re.IGNORECASE)
        except re.error as err:
            raise FilterError(f"bad regex {rest!r}: {err}") from None
    if pattern is None and selector is None and not fuzzy:
        raise FilterError("'!' needs something to invert, e.g. !web or !-l app=web")
    return Filter(raw, pattern, selector, invert, fuzzy=fuzzy)
