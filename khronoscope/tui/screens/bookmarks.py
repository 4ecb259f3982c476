"""The bookmark list: go to one, rename it, delete it, or see what changed from it to the
cursor. Bookmarks live in the source (a recording's sidecar, a live session's memory and its
recording), so the list is read from it every time it is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import format_clock, format_offset
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.widgets.vlist import VirtualList

if TYPE_CHECKING:
    pass


class BookmarksScreen(Screen[None]):
    """Every bookmark, oldest first; the last one at or before the cursor selected."""

    KEYMAP_CONTEXT: ClassVar[str] = "bookmarks"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("bookmarks")  # type: ignore[assignment]

    DEFAULT_CSS = """
    BookmarksScreen #bookmarks-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.marks: list[Bookmark] = []

    @property
    def list(self) -> VirtualList:
        """The list of bookmarks."""
        return self.query_one(VirtualList)

    def compose(self) -> ComposeResult:
        """Title, list, footer."""
        yield Static(id="bookmarks-title")
        header = Text(f"  {'TIME':<23}  {'FROM CURSOR':<12}  {'LABEL':<32}  OBJECT")
        yield VirtualList(self._line, header=header, empty="no bookmarks yet: m bookmarks a moment")
        yield Footer()

    def on_mount(self) -> None:
        """Read the bookmarks and select the latest one at or before the cursor."""
        self.reload(select_cursor=True)
        self.list.focus()

    def reload(self, select_cursor: bool = False, index: int | None = None) -> None:
        """Read the bookmarks again (after a change)."""
        self.marks = self.ctx.source.bookmarks()
        t = self.ctx.playback.t
        if select_cursor:
            before = [i for i, b in enumerate(self.marks) if b.t <= t]
            index = before[-1] if before else 0
        self.list.set_count(len(self.marks), index)
        n = len(self.marks)
        line1 = Text.assemble(("Bookmarks", "bold"), (f"  {n}", "dim"))
        line2 = Text(
            "Enter: go there · r: rename · x: delete · c: what changed from there to the cursor",
            style="dim",
        )
        self.query_one("#bookmarks-title", Static).update(Text("\n").join([line1, line2]))

    def _line(self, i: int) -> Text:
        b = self.marks[i]
        ctx = self.ctx
        text = Text(no_wrap=True, overflow="ellipsis")
        at_cursor = b.t == ctx.playback.t
        text.append("▶ " if at_cursor else "  ", style="bold")
        text.append(format_clock(b.t, ctx.settings.tz, millis=True) + "  ")
        text.append(f"{format_offset(b.t - ctx.playback.t):<12}  ", style="dim")
        text.append(f"{safe_line(b.label):<32}  ", style="bold yellow")
        if b.key is not None:
            text.append(safe_line(str(b.key)), style="cyan")
        return text

    def _selected(self) -> Bookmark | None:
        if not self.marks:
            return None
        return self.marks[min(self.list.index, len(self.marks) - 1)]

    # --- actions (scope `bookmarks`) ---------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_go(self) -> None:
        """Move the cursor to the bookmark and close the list."""
        b = self._selected()
        if b is None:
            return
        self.dismiss()
        self.ctx.time.seek_to(b.t, why=f"bookmark {b.label!r}")

    def action_rename(self) -> None:
        """Give the bookmark a new label."""
        b = self._selected()
        if b is None:
            return

        def check(text: str) -> str:
            if not text.strip():
                raise ValueError("a label cannot be empty")
            return text.strip()

        def done(label: str | None) -> None:
            if label is None:
                return
            try:
                self.ctx.source.rename_bookmark(b.id, label)
            except KhronoscopeError as err:
                self.notify(str(err), severity="error")
            self.reload(index=self.list.index)

        # the label may come from a recording: the prompt shows (and edits) its visible form
        self.ctx.nav.ask_text("Rename bookmark", check, done, value=safe_line(b.label))

    def action_delete(self) -> None:
        """Delete the bookmark."""
        b = self._selected()
        if b is None:
            return
        try:
            self.ctx.source.remove_bookmark(b.id)
        except KhronoscopeError as err:
            self.notify(str(err), severity="error")
            return
        self.notify(f"deleted bookmark {b.label!r}", timeout=3)
        self.reload(index=self.list.index)

    def action_changes(self) -> None:
        """What changed between the bookmark and the cursor."""
        b = self._selected()
        if b is None:
            return
        self.ctx.nav.show_changes(b.t, self.ctx.playback.t, f"bookmark {b.label!r}")
