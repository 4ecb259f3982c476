"""What changed between two moments: per type, the objects added, modified and deleted; Enter
opens one as a diff between the two moments.

Objects whose only changes are noise (resourceVersion, managedFields, heartbeats) are hidden
until `a`: telling them apart decodes both versions, so it is done up front only for up to
NOISE_SCAN_LIMIT modified objects; past that every object is listed and the fields a modified
object changed are worked out only for the lines on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_clock, format_offset
from khronoscope.core.types import ObjectKey
from khronoscope.printers.objdiff import meaningful_paths
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.screens.diff import FIXED
from khronoscope.tui.whatchanged import ADDED, DELETED, MODIFIED, Moved, WhatChanged, what_changed
from khronoscope.tui.widgets.vlist import VirtualList

if TYPE_CHECKING:
    pass

_SIGN = {ADDED: ("+", "green"), MODIFIED: ("~", "yellow"), DELETED: ("-", "red")}
NOISE_ONLY = "(only resourceVersion, managedFields)"
NOISE_SCAN_LIMIT = 3000  # ~0.2 ms each: the view opens in well under a second


class ChangesScreen(Screen[None]):
    """Objects that differ between t1 and t2, grouped by type (a line per type, then its
    objects)."""

    KEYMAP_CONTEXT: ClassVar[str] = "changes"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("changes")  # type: ignore[assignment]

    DEFAULT_CSS = """
    ChangesScreen #changes-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, t1: int, t2: int, origin: str = "") -> None:
        super().__init__()
        self.ctx = ctx
        self.t1, self.t2 = min(t1, t2), max(t1, t2)
        self.origin = origin
        self.result: WhatChanged | None = None
        self.lines: list[str | Moved] = []
        self._paths: dict[ObjectKey, str] = {}
        self.show_noise = False
        self.noise_hidden = 0  # objects left out because only noise changed

    @property
    def list(self) -> VirtualList:
        """The list of types and objects."""
        return self.query_one(VirtualList)

    def compose(self) -> ComposeResult:
        """Title, list, footer."""
        yield Static(id="changes-title")
        yield VirtualList(self._line, empty="nothing differs between these moments")
        yield Footer()

    def on_mount(self) -> None:
        """Compare the two moments."""
        self.result = what_changed(self.ctx.source.tmap, self.t1, self.t2)
        self._scan = sum(m.how == MODIFIED for ms in self.result.by_type.values() for m in ms) <= (
            NOISE_SCAN_LIMIT
        )
        self._fill()
        self.list.focus()

    def _fill(self) -> None:
        assert self.result is not None
        lines: list[str | Moved] = []
        hidden = 0
        self._shown: dict[str, list[Moved]] = {}
        for type_name, moved in self.result.by_type.items():
            shown = moved
            if self._scan and not self.show_noise:
                shown = [
                    m for m in moved if m.how != MODIFIED or self._changed(m.key) != NOISE_ONLY
                ]
                hidden += len(moved) - len(shown)
            if shown:
                lines.append(type_name)
                lines.extend(shown)
                self._shown[type_name] = shown
        self.lines, self.noise_hidden = lines, hidden
        first = next((i for i, x in enumerate(lines) if isinstance(x, Moved)), 0)
        self.list.set_count(len(lines), first)
        self._title()

    def _title(self) -> None:
        assert self.result is not None
        tz = self.ctx.settings.tz
        line1 = Text.assemble(
            ("What changed", "bold"),
            "  ",
            (format_clock(self.t1, tz, millis=True), "bold"),
            " → ",
            (format_clock(self.t2, tz, millis=True), "bold"),
            (f"  ({format_offset(self.t2 - self.t1)[1:]})", "dim"),
        )
        if self.origin:
            line1.append(f"  from {safe_line(self.origin)}", style="dim")  # a bookmark's label
        total = self.result.total
        line2 = Text(
            f"{total} object{'s' if total != 1 else ''} differ · + added · ~ modified · "
            "- deleted · Enter: diff between the two moments",
            style="dim",
        )
        if self.noise_hidden:
            line2.append(
                f" · {self.noise_hidden} with noise-only changes hidden (a shows)",
                style="yellow",
            )
        self.query_one("#changes-title", Static).update(Text("\n").join([line1, line2]))

    def _line(self, i: int) -> Text:
        item = self.lines[i]
        assert self.result is not None
        if isinstance(item, str):
            counts = {ADDED: 0, MODIFIED: 0, DELETED: 0}
            for m in self._shown.get(item, ()):
                counts[m.how] += 1
            text = Text(safe_line(item), style="bold cyan")
            parts = [f"{n} {how}" for how, n in counts.items() if n]
            text.append("  " + ", ".join(parts), style="dim")
            return text
        sign, style = _SIGN[item.how]
        key = item.key
        name = f"{key.namespace}/{key.name}" if key.namespace else key.name
        text = Text(f"  {sign} ", style=style)
        text.append(safe_line(name))
        if item.how == MODIFIED:
            text.append("  " + safe_line(self._changed(key)), style="dim")
        return text

    def _changed(self, key: ObjectKey) -> str:
        found = self._paths.get(key)
        if found is None:
            tmap = self.ctx.source.tmap
            a, b = tmap.get(key, self.t1), tmap.get(key, self.t2)
            paths = meaningful_paths(key, a, b) if a is not None and b is not None else []
            found = ", ".join(paths) if paths else NOISE_ONLY
            self._paths[key] = found
        return found

    # --- actions (scope `changes`) -----------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_toggle_noise(self) -> None:
        """Show or hide the objects whose only changes are noise."""
        self.show_noise = not self.show_noise
        self._fill()

    def action_open(self) -> None:
        """The selected object's diff between the two moments."""
        if not self.lines:
            return
        item = self.lines[self.list.index]
        if isinstance(item, Moved):
            self.ctx.nav.show_diff(item.key, FIXED, self.t1, self.t2)
