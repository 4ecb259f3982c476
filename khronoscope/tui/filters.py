"""The `/` filter of a table, k9s-style: a regex on names, `-l` a label selector, `!` inverts.

    /web          names matching the regex `web` (case-insensitive)
    /!web         names not matching it
    /-l app=web   rows whose labels satisfy the selector
    /api -l tier=backend   both

Parsing errors raise FilterError with one line for the message bar; no UI here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.printers import Row
from khronoscope.printers.selector import Selector, SelectorError, parse_selector


class FilterError(ValueError):
    """A filter the user typed that cannot be used (bad regex or selector)."""


@dataclass(frozen=True)
class Filter:
    """A parsed filter; `matches(key, row)` decides per row from the row alone."""

    text: str = ""
    pattern: re.Pattern[str] | None = None
    selector: Selector | None = None
    invert: bool = False
    column: tuple[int, str] | None = None
    column_label: str = ""

    @property
    def active(self) -> bool:
        """True when it filters anything."""
        return self.pattern is not None or self.selector is not None or self.column is not None

    @property
    def needs_row(self) -> bool:
        """True when matching reads a row's cells or labels (a name regex reads only the key)."""
        return self.selector is not None or self.column is not None

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
        if self.pattern is not None and not self.pattern.search(key.name):
            ok = False
        selector = self.selector
        if ok and selector is not None and (row is None or not selector.matches(row.labels)):
            ok = False
        if self.pattern is None and self.selector is None:
            return True
        return ok != self.invert

    def with_column(self, index: int, value: str, label: str) -> Filter:
        """This filter, also keeping only rows whose cell `index` equals `value`."""
        return Filter(self.text, self.pattern, self.selector, self.invert, (index, value), label)


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
    name_part = body
    m = re.search(r"(?:^|\s)-l(?:(?:\s+|=)(.*))?$", body)
    if m:
        name_part = body[: m.start()].strip()
        sel_text = (m.group(1) or "").strip()
        if not sel_text:
            raise FilterError("-l needs a label selector, e.g. -l app=web")
        try:
            selector = parse_selector(sel_text)
        except SelectorError as err:
            raise FilterError(f"bad label selector: {err}") from None
    pattern = None
    if name_part:
        try:
            pattern = re.compile(name_part, re.IGNORECASE)
        except re.error as err:
            raise FilterError(f"bad regex {name_part!r}: {err}") from None
    if pattern is None and selector is None:
        raise FilterError("'!' needs something to invert, e.g. !web or !-l app=web")
    return Filter(raw, pattern, selector, invert)
