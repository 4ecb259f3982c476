"""The history of one object: every version with its time, kind, writer (field manager) and
the fields it changed. Moving the selection moves the cursor to that version (the screens
below follow); Enter shows its diff, `y` its YAML. Only the lines on screen are decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.provenance import RECONSTRUCTED, provenance_of
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.versions import ObjectHistory, VersionEntry
from khronoscope.tui.widgets.timeline import Timeline
from khronoscope.tui.widgets.vlist import VirtualList

if TYPE_CHECKING:
    pass

_KIND_STYLE = {
    ChangeKind.ADDED: "green",
    ChangeKind.MODIFIED: "yellow",
    ChangeKind.DELETED: "red",
}
_BY_WIDTH = 34
RECONSTRUCTED_STYLE = "italic magenta"


def entry_text(entry: VersionEntry, when: str, current: bool) -> Text:
    """One line: marker, time, kind, who (audit user and field managers), changed paths.
    Reconstructed versions and marks have a style of their own (never taken for observed);
    a write whose result is unknown says so."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("▶ " if current else "  ", style="bold")
    reconstructed = entry.origin == RECONSTRUCTED
    text.append(when + "  ", style=RECONSTRUCTED_STYLE if reconstructed else "")
    if entry.mark:
        text.append(f"{'·':<9}", style=RECONSTRUCTED_STYLE)
        text.append(f"{'':<{_BY_WIDTH}}  ")
        text.append(safe_line(entry.note), style=RECONSTRUCTED_STYLE)
        return text
    text.append(f"{entry.kind.name:<9}", style=_KIND_STYLE[entry.kind])
    # users, field managers and paths (annotation keys...) are the cluster's text
    managers = ", ".join(entry.managers)
    if entry.user:
        by = f"{entry.user} ({managers})" if managers else entry.user
    else:
        by = managers or "-"
    by = safe_line(by)
    if len(by) > _BY_WIDTH:
        by = by[: _BY_WIDTH - 1] + "…"
    text.append(f"{by:<{_BY_WIDTH}}  ", style="cyan")
    if reconstructed:
        text.append("reconstructed", style=RECONSTRUCTED_STYLE + " reverse")
        text.append(f" {safe_line(entry.note)}" if entry.note else "", style=RECONSTRUCTED_STYLE)
        return text
    if entry.unknown:
        verb = "created" if entry.kind is ChangeKind.ADDED else "changed"
        who = f"{verb} by {safe_line(entry.user)}" if entry.user else verb
        text.append(f"{who} (content not in the audit log)", style="bold yellow")
        return text
    if entry.note and not entry.paths and entry.kind is not ChangeKind.DELETED:
        text.append(safe_line(entry.note), style="dim")
        return text
    if entry.paths:
        shown = []
        for p in entry.paths:
            owner = entry.owners.get(p)
            shown.append(f"{p} ({owner})" if owner and len(entry.managers) > 1 else p)
        text.append(safe_line(", ".join(shown)))
    elif entry.kind is ChangeKind.MODIFIED and entry.noise:
        text.append("(only resourceVersion, managedFields or heartbeat times)", style="dim")
    return text


class HistoryScreen(Screen[None]):
    """The versions of `key`, oldest first, the one in force at the cursor marked."""

    KEYMAP_CONTEXT: ClassVar[str] = "history"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("history")  # type: ignore[assignment]

    DEFAULT_CSS = """
    HistoryScreen #history-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, key: ObjectKey) -> None:
        super().__init__()
        self.ctx = ctx
        self.key = key
        self.history: ObjectHistory | None = None
        self._following = False

    @property
    def list(self) -> VirtualList:
        """The list of versions."""
        return self.query_one(VirtualList)

    def in_view(self) -> InView:
        """What the time keys act on: the object shown."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, versions, timeline, footer."""
        yield Static(id="history-title")
        by = "BY user (field manager)"
        header = Text(f"  {'TIME':<23}  {'CHANGE':<9}{by:<{_BY_WIDTH}}  WHAT")
        yield VirtualList(self._line, header=header, empty="no recorded versions")
        yield Timeline(self.ctx.time)
        yield Footer()

    def on_mount(self) -> None:
        """Load the versions, select the one in force at the cursor, follow the cursor."""
        source = self.ctx.source
        self.history = ObjectHistory(source.tmap, self.key, provenance=provenance_of(source))
        self.list.set_count(len(self.history), max(self._current(), 0))
        self._title()
        self.ctx.playback.listeners.append(self._moved)
        self.set_interval(1.0, self._poll)
        self.list.focus()

    def on_unmount(self) -> None:
        """Stop following the cursor."""
        if self._moved in self.ctx.playback.listeners:
            self.ctx.playback.listeners.remove(self._moved)

    def _current(self) -> int:
        assert self.history is not None
        return self.history.index_at(self.ctx.playback.t)

    def _line(self, i: int) -> Text:
        assert self.history is not None
        entry = self.history.entry(i)
        when = format_clock(entry.t, self.ctx.settings.tz, millis=True)
        return entry_text(entry, when, i == self._current())

    def _title(self) -> None:
        assert self.history is not None
        n = len(self.history)
        line1 = Text.assemble(("History", "bold"), "  ", (safe_line(str(self.key)), "bold cyan"))
        line1.append(f"  {n} version{'s' if n != 1 else ''}", style="dim")
        line2 = Text(
            "selecting a version moves the cursor there · Enter: its diff · y: its YAML · "
            "BY: audit user (field manager; ? = guessed) · "
            "reconstructed: rebuilt from what the cluster kept",
            style="dim",
        )
        self.query_one("#history-title", Static).update(Text("\n").join([line1, line2]))

    def _poll(self) -> None:
        """New versions (live): extend the list."""
        assert self.history is not None
        if self.history.refresh():
            self.list.set_count(len(self.history))
            self._title()

    def _moved(self) -> None:
        # the cursor moved (a step, play, a click on the timeline): show its version selected
        if self.history is None or self._following:
            return
        current = self._current()
        if current >= 0 and current != self.list.index:
            self.list.index = current
            self.list.set_count(len(self.history))
        else:
            self.list.refresh()

    @on(VirtualList.Highlighted)
    def _highlighted(self, event: VirtualList.Highlighted) -> None:
        assert self.history is not None
        t = self.history.row_t(event.index)
        self._following = True
        try:
            self.ctx.time.seek_to(t, why="version")
        finally:
            self._following = False
        self.list.refresh()

    # --- actions (scope `history`) -----------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_diff(self) -> None:
        """The selected version against the one before it."""
        if self.history is not None and len(self.history):
            self.ctx.time.seek_to(self.history.row_t(self.list.index), why="version")
            self.ctx.nav.show_diff(self.key)

    def action_yaml(self) -> None:
        """The selected version's YAML."""
        if self.history is not None and len(self.history):
            self.ctx.time.seek_to(self.history.row_t(self.list.index), why="version")
            self.ctx.nav.show_detail(self.key, "yaml")
