"""A virtual table over a TableModel: draws only the visible lines (Textual's Line API).

Textual's DataTable costs ~80 ms per update at 10,000 rows; here an update costs the changed
rows (in the model) plus the ~40 visible lines, whatever the table's length. The selection is
an object, not a line number: when rows move, the cursor follows its object.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from khronoscope.core.safetext import safe_line
from khronoscope.core.types import ObjectKey
from khronoscope.printers import Row, format_cell
from khronoscope.printers.tone import row_tone
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.tablemodel import NAME, NAMESPACE, TableModel
from khronoscope.tui.usage import WIDTHS, TableTelemetry

GAP = 3
MAX_COLUMN = 64
EXTRA = -100  # column ids of usage columns: EXTRA, EXTRA - 1, ... (drawn at t, not stored)
MARK = "●"  # in the left margin: this pod's logs are captured


class ResourceTable(ScrollView, can_focus=True):
    """The rows of one resource type at t, with a fixed header line."""

    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("table")  # type: ignore[assignment]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "resource-table--header",
        "resource-table--sorted",
        "resource-table--cursor",
        "resource-table--ok",
        "resource-table--pending",
        "resource-table--error",
        "resource-table--done",
        "resource-table--deleting",
        "resource-table--message",
    }

    DEFAULT_CSS = """
    ResourceTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        scrollbar-gutter: stable;
    }
    ResourceTable > .resource-table--header { text-style: bold; color: $text-primary; }
    ResourceTable > .resource-table--sorted { text-style: bold underline; color: $text-accent; }
    ResourceTable > .resource-table--cursor { background: $block-cursor-background; }
    ResourceTable:focus > .resource-table--cursor {
        background: $block-cursor-background; text-style: bold;
    }
    ResourceTable > .resource-table--ok { color: $text; }
    ResourceTable > .resource-table--pending { color: $text-warning; }
    ResourceTable > .resource-table--error { color: $text-error; }
    ResourceTable > .resource-table--done { color: $text-muted; }
    ResourceTable > .resource-table--deleting { color: $text-secondary; text-style: italic; }
    ResourceTable > .resource-table--message { color: $text-muted; text-style: italic; }
    """

    class Activated(Message):
        """The user asked to open, describe or show the YAML of the selected object."""

        def __init__(self, key: ObjectKey, how: str) -> None:
            super().__init__()
            self.key = key
            self.how = how

    class SortChanged(Message):
        """The sort column or direction changed (the header shows it)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: TableModel | None = None
        self.t = 0
        self.wide = False
        self.message = ""
        self.cursor = 0
        self.wanted: ObjectKey | None = None
        self._wanted_row: Row | None = None
        self._layout: list[tuple[int, int, str, int]] = []  # (column id, x, header, width)
        self._line_width = 0
        self._regrow_pending = False
        self.version = 0
        self.telemetry: TableTelemetry | None = None
        self.extra_columns: tuple[str, ...] = ()
        self._sorted_at: tuple[int, int] = (-1, -1)  # (t, metrics version) of a usage sort

    # --- feeding -----------------------------------------------------------------------------

    def set_model(self, model: TableModel, t: int, keep: ObjectKey | None = None) -> None:
        """Show a new model (a new type or scope); keep `keep` selected if it is there."""
        self.model = model
        self.t = t
        self.wanted = keep
        self._wanted_row = model.rows.get(keep) if keep is not None else None
        self.cursor = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.relayout()
        self._follow(scroll=True)

    def rows_changed(self, t: int) -> None:
        """The model changed (a delta applied) or t moved: keep the selection, repaint."""
        self.t = t
        m, telemetry = self.model, self.telemetry
        if m is not None and m.sorted_by_value and telemetry is not None:
            at = (t, telemetry.version)
            if at != self._sorted_at:
                self._sorted_at = at
                m.resort()
        self.relayout()
        self._follow(scroll=False)

    def set_message(self, text: str) -> None:
        """A line shown in place of rows (forbidden type, empty view)."""
        text = safe_line(text)  # quotes the API server's error, type and namespace names
        if text != self.message:
            self.message = text
            self.refresh()

    def relayout(self) -> None:
        """Recompute column positions from the model's widths."""
        model = self.model
        self._layout, x = self._columns_layout()
        self._line_width = x
        count = len(model) if model is not None else 0
        self.virtual_size = Size(x, count + 1)
        self.version += 1
        self.refresh()

    def _columns_layout(self) -> tuple[list[tuple[int, int, str, int]], int]:
        """(column id, x, header, width) of every column shown, and the line's width."""
        model = self.model
        layout: list[tuple[int, int, str, int]] = []
        x = 1
        if model is not None:
            cols: list[tuple[int, str, int]] = []
            if model.show_namespace:
                cols.append((NAMESPACE, "NAMESPACE", model.ns_width))
            cols.append((NAME, "NAME", model.name_width))
            for i, c in enumerate(model.columns.columns):
                if c.wide and not self.wide:
                    continue
                # a CRD names its own printer columns
                cols.append((i, safe_line(c.name), model.widths[i]))
            self.extra_columns = self.telemetry.columns() if self.telemetry is not None else ()
            for i, name in enumerate(self.extra_columns):
                cols.append((EXTRA - i, name, max(len(name), WIDTHS.get(name, 4))))
            for n, (cid, name, width) in enumerate(cols):
                header = name + self._arrow(cid)
                w = max(width, len(header))
                if n < len(cols) - 1:
                    w = min(w, MAX_COLUMN)
                layout.append((cid, x, header, w))
                x += w + GAP
        return layout, x

    def _arrow(self, column: int) -> str:
        m = self.model
        if m is None or m.sort_column != column:
            return ""
        return "↓" if m.descending else "↑"

    # --- selection ---------------------------------------------------------------------------

    @property
    def selected(self) -> ObjectKey | None:
        """The object under the cursor."""
        m = self.model
        if m is None or not len(m):
            return None
        return m.key_at(min(self.cursor, len(m) - 1))

    def select(self, key: ObjectKey) -> None:
        """Put the cursor on `key` (when shown)."""
        self.wanted = key
        self._wanted_row = self.model.rows.get(key) if self.model is not None else None
        self._follow(scroll=True)

    def _follow(self, scroll: bool) -> None:
        """Move the cursor to the wanted object (or where it would be), keeping its screen line
        when rows moved around it."""
        m = self.model
        if m is None or not len(m):
            self.cursor = 0
            self.refresh()
            return
        old_cursor = self.cursor
        index = m.index_of(self.wanted) if self.wanted is not None else None
        if index is None:
            if self.wanted is not None and self._wanted_row is not None:
                index = m.nearest_index(self.wanted, self._wanted_row)
            else:
                index = min(old_cursor, len(m) - 1)
        elif self.wanted is not None:
            self._wanted_row = m.rows.get(self.wanted, self._wanted_row)
        self.cursor = index
        if not scroll and index != old_cursor:
            # rows moved: keep the selected object on the same screen line
            self.scroll_to(y=self.scroll_y + (index - old_cursor), animate=False, immediate=True)
        self._keep_visible()
        self.refresh()

    def _move(self, index: int) -> None:
        m = self.model
        if m is None or not len(m):
            return
        self.cursor = max(0, min(index, len(m) - 1))
        self.wanted = m.key_at(self.cursor)
        self._wanted_row = m.rows.get(self.wanted)
        self._keep_visible()
        self.refresh()

    def _keep_visible(self) -> None:
        body = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + body:
            top = self.cursor - body + 1
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        """Keep the cursor in view when the window shrinks."""
        self._keep_visible()

    # --- actions (ids in keybindings.toml, scope `table`) ------------------------------------

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - 2, 1)

    def action_cursor_up(self) -> None:
        """Up one row."""
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """Down one row."""
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        """Up one page."""
        self._move(self.cursor - self._page())

    def action_page_down(self) -> None:
        """Down one page."""
        self._move(self.cursor + self._page())

    def action_top(self) -> None:
        """First row."""
        self._move(0)

    def action_bottom(self) -> None:
        """Last row."""
        self._move(len(self.model) - 1 if self.model is not None else 0)

    def action_scroll_left(self) -> None:
        """Scroll the columns left."""
        self.scroll_to(x=max(self.scroll_x - 8, 0), animate=False)

    def action_scroll_right(self) -> None:
        """Scroll the columns right."""
        self.scroll_to(x=self.scroll_x + 8, animate=False)

    def _activate(self, how: str) -> None:
        key = self.selected
        if key is not None:
            self.post_message(self.Activated(key, how))

    def action_open(self) -> None:
        """Drill down into the selected object."""
        self._activate("open")

    def action_describe(self) -> None:
        """Describe the selected object."""
        self._activate("describe")

    def action_yaml(self) -> None:
        """Show the selected object's YAML."""
        self._activate("yaml")

    def action_capture_logs(self) -> None:
        """Capture the selected pod's logs from now on (or stop)."""
        self._activate("capture")

    def action_logs(self) -> None:
        """Show the selected pod's captured logs."""
        self._activate("logs")

    def action_sort(self, column: str) -> None:
        """Sort by a column by name; again to reverse."""
        m = self.model
        if m is None:
            return
        if column == "NAME":
            cid = NAME
        elif column == "NAMESPACE":
            cid = NAMESPACE
            if not m.show_namespace:
                cid = -3
        elif column in self.extra_columns:
            cid = EXTRA - self.extra_columns.index(column)
        else:
            cid = m.columns.index(column)
            if cid < 0 or (m.columns.columns[cid].wide and not self.wide):
                cid = -3
        if EXTRA < cid < NAMESPACE:
            self.notify(f"no {column} column in this view", severity="warning", timeout=3)
            return
        self.sort_by(cid)

    def sort_by(self, cid: int) -> None:
        """Sort by column id (NAMESPACE, NAME, or a cell index); again to reverse."""
        m = self.model
        if m is None:
            return
        if cid <= EXTRA:
            telemetry = self.telemetry
            if telemetry is None or EXTRA - cid >= len(self.extra_columns):
                return
            name = self.extra_columns[EXTRA - cid]
            # the hottest first, as k9s sorts usage; re-sorted whenever t moves
            descending = not m.descending if m.sort_column == cid else True
            m.set_value_sort(
                cid, name, lambda keys: telemetry.sort_values(keys, self.t, name), descending
            )
            self._sorted_at = (self.t, telemetry.version)
        else:
            descending = not m.descending if m.sort_column == cid else False
            m.set_sort(cid, descending)
        self.relayout()
        self._follow(scroll=True)
        self.post_message(self.SortChanged())

    # --- mouse -------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        """Click a header to sort by it, a row to select it (double-click opens)."""
        y = event.y
        x = event.x + round(self.scroll_x)
        if y == 0:
            for cid, cx, _header, w in self._layout:
                if cx <= x < cx + w + GAP:
                    self.sort_by(cid)
                    return
            return
        self._move(round(self.scroll_y) + y - 1)
        if event.chain == 2:
            self.action_open()

    # --- drawing -----------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Compute the rows about to be drawn first (rows are computed when first shown), and
        widen columns for them before any line is drawn."""
        m = self.model
        if m is not None and len(m):
            top = round(self.scroll_y) + crop.y - 1
            if m.prepare(max(top, 0), top + crop.height):
                self._regrow()  # the whole table takes the new widths next frame
                self._layout, self._line_width = self._columns_layout()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Line y of the widget: the header, a row, or the message."""
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        base = self.rich_style
        m = self.model
        if y == 0:
            return self._header_strip(width, scroll_x, base)
        if m is None or not len(m):
            if y == 2 and self.message:
                style = base + self.get_component_rich_style("resource-table--message")
                return Strip([Segment(f"  {self.message}", style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        index = round(self.scroll_y) + y - 1
        if index >= len(m):
            return Strip.blank(width, base)
        key = m.key_at(index)
        row = m.row(key)
        text = self._row_text(key, row)
        tone = row_tone(row.fmt, row.cells) if row is not None else ""
        style = base
        if tone:
            style = base + self.get_component_rich_style(f"resource-table--{tone}")
        if index == self.cursor:
            style = style + self.get_component_rich_style("resource-table--cursor")
        strip = Strip([Segment(text, style)], len(text))
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _header_strip(self, width: int, scroll_x: int, base: Style) -> Strip:
        header = base + self.get_component_rich_style("resource-table--header")
        sorted_style = base + self.get_component_rich_style("resource-table--sorted")
        segments: list[Segment] = []
        pos = 0
        m = self.model
        for cid, x, name, w in self._layout:
            if x > pos:
                segments.append(Segment(" " * (x - pos), header))
            style = sorted_style if m is not None and m.sort_column == cid else header
            segments.append(Segment(name.ljust(w), style))
            pos = x + w
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, header)

    def _row_text(self, key: ObjectKey, row: Row | None) -> str:
        parts: list[str] = []
        pos = 0
        t = self.t
        columns = self.model.columns.columns if self.model is not None else ()
        extra: tuple[str, ...] | None = None
        telemetry = self.telemetry
        if telemetry is not None and telemetry.marked(key):
            parts.append(MARK)
            pos = 1
        for cid, x, _name, w in self._layout:
            if cid == NAMESPACE:
                value = safe_line(key.namespace)
            elif cid == NAME:
                value = safe_line(key.name)
            elif cid <= EXTRA:
                if extra is None:
                    extra = telemetry.cells(key, t) if telemetry is not None else ()
                value = extra[EXTRA - cid] if EXTRA - cid < len(extra) else ""
            elif row is not None and cid < len(row.cells):
                value = safe_line(format_cell(columns[cid].kind, row.cells[cid], t))
            else:
                value = ""
            if len(value) > w:
                if w < MAX_COLUMN and self.model is not None and self.model.grow(cid, len(value)):
                    # a cell wider than its column (rows changed in bulk are measured lazily):
                    # widen it from the next frame on
                    self._regrow()
                value = value[: w - 1] + "…"
            if x > pos:
                parts.append(" " * (x - pos))
            parts.append(value.ljust(w))
            pos = x + w
        return "".join(parts)

    def _regrow(self) -> None:
        if not self._regrow_pending:
            self._regrow_pending = True
            self.call_after_refresh(self._do_regrow)

    def _do_regrow(self) -> None:
        self._regrow_pending = False
        self.relayout()

    def row_texts(self) -> list[str]:
        """Every shown row as plain text (for tests and the bench; draws nothing)."""
        m = self.model
        if m is None:
            return []
        if m.prepare(0, len(m)):
            self.relayout()
        return [self._row_text(k, m.row(k)).rstrip() for k in m.keys_in(0, len(m))]

    def header_text(self) -> str:
        """The header line as plain text."""
        parts: list[str] = []
        pos = 0
        for _cid, x, name, w in self._layout:
            parts.append(" " * (x - pos) + name.ljust(w))
            pos = x + w
        return "".join(parts).rstrip()

    def visible_region(self) -> Region:
        """The region of rows currently drawn (for benches that render a frame)."""
        return self.scrollable_content_region
