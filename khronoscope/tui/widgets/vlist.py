"""A virtual list: draws only the visible lines (Textual's Line API), asks for each line's text
on demand. The history, bookmark and what-changed screens use it, so a node with thousands of
versions costs the ~40 lines on screen, not the whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from khronoscope.core.safetext import safe_line
from khronoscope.tui.keymap import DEFAULT_KEYMAP


class VirtualList(ScrollView, can_focus=True):
    """`count` lines, line i drawn by `line(i)`; a cursor the screen reads as `index`."""

    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("list")  # type: ignore[assignment]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"virtual-list--cursor", "virtual-list--header"}

    DEFAULT_CSS = """
    VirtualList { background: $surface; height: 1fr; scrollbar-gutter: stable; }
    VirtualList > .virtual-list--header { text-style: bold; color: $text-primary; }
    VirtualList > .virtual-list--cursor { background: $block-cursor-background; }
    VirtualList:focus > .virtual-list--cursor { background: $block-cursor-background; }
    """

    class Highlighted(Message):
        """The cursor moved to line `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(
        self,
        line: Callable[[int], Text],
        count: int = 0,
        header: Text | None = None,
        *,
        empty: str = "nothing to show",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.line = line
        self.count = count
        self.header = header
        self.empty = empty
        self.index = 0

    @property
    def _top(self) -> int:
        return 1 if self.header is not None else 0

    def set_count(self, count: int, index: int | None = None) -> None:
        """The list has `count` lines now; put the cursor on `index` (else keep it in range)."""
        self.count = count
        if index is not None:
            self.index = index
        self.index = max(0, min(self.index, count - 1))
        self.virtual_size = Size(self.size.width, count + self._top)
        self._keep_visible()
        self.refresh()

    def on_mount(self) -> None:
        """Size the scroll area."""
        self.virtual_size = Size(self.size.width, self.count + self._top)
        self.call_after_refresh(self._keep_visible)

    def on_resize(self, event: events.Resize) -> None:
        """Keep the cursor visible after a resize."""
        self.virtual_size = Size(event.size.width, self.count + self._top)
        self._keep_visible()

    def move_to(self, index: int) -> None:
        """Put the cursor on line `index` and tell the screen."""
        if not self.count:
            return
        index = max(0, min(index, self.count - 1))
        changed = index != self.index
        self.index = index
        self._keep_visible()
        self.refresh()
        if changed:
            self.post_message(self.Highlighted(index))

    def _keep_visible(self) -> None:
        height = max(self.size.height - self._top, 1)
        y = self.scroll_offset.y
        if self.index < y:
            self.scroll_to(y=self.index, animate=False, immediate=True)
        elif self.index >= y + height:
            self.scroll_to(y=self.index - height + 1, animate=False, immediate=True)

    def _page(self) -> int:
        return max(self.size.height - self._top - 1, 1)

    def action_cursor_up(self) -> None:
        """Up one line."""
        self.move_to(self.index - 1)

    def action_cursor_down(self) -> None:
        """Down one line."""
        self.move_to(self.index + 1)

    def action_page_up(self) -> None:
        """Up one page."""
        self.move_to(self.index - self._page())

    def action_page_down(self) -> None:
        """Down one page."""
        self.move_to(self.index + self._page())

    def action_top(self) -> None:
        """First line."""
        self.move_to(0)

    def action_bottom(self) -> None:
        """Last line."""
        self.move_to(self.count - 1)

    def on_click(self, event: events.Click) -> None:
        """A click selects the line under the mouse."""
        row = event.y - self._top + self.scroll_offset.y
        if event.y >= self._top and 0 <= row < self.count:
            self.move_to(row)

    def render_line(self, y: int) -> Strip:
        """Line y of the widget: the header, then lines from the scroll offset."""
        width = self.size.width
        base = self.rich_style
        if self.header is not None and y == 0:
            style = self.get_component_rich_style("virtual-list--header")
            return self._strip(self.header, width, base + style)
        i = y - self._top + self.scroll_offset.y
        if not self.count:
            if y == self._top:
                return self._strip(Text(self.empty, style="italic"), width, base)
            return Strip.blank(width, base)
        if i >= self.count:
            return Strip.blank(width, base)
        style = base
        if i == self.index:
            style = base + self.get_component_rich_style("virtual-list--cursor")
        return self._strip(self.line(i), width, style)

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text = text.copy()
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.truncate(width, overflow="ellipsis", pad=True)
        # every line is one line of cluster text (names, labels, managers): drawn, not obeyed
        segments = [
            Segment(safe_line(s.text), style + s.style if s.style else style)
            for s in text.render(self.app.console)
            if s.text != "\n"
        ]
        return Strip(segments).adjust_cell_length(width, style)
