"""What changed between two moments: per type, the objects added, modified and deleted; Enter
opens one as a diff between the two moments. The fields a modified object changed are worked
out only for the lines on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.timefmt import format_clock, format_offset
from khronoscope.core.types import ObjectKey
from khronoscope.tui.appaware import AppAware
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.objdiff import meaningful_paths
from khronoscope.tui.screens.diff import FIXED, DiffScreen
from khronoscope.tui.whatchanged import ADDED, DELETED, MODIFIED, Moved, WhatChanged, what_changed
from khronoscope.tui.widgets.vlist import VirtualList

if TYPE_CHECKING:
    pass

_SIGN = {ADDED: ("+", "green"), MODIFIED: ("~", "yellow"), DELETED: ("-", "red")}


class ChangesScreen(AppAware, Screen[None]):
    """Objects that differ between t1 and t2, grouped by type (a line per type, then its
    objects)."""

    KEYMAP_CONTEXT = "changes"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("changes")  # type: ignore[assignment]

    DEFAULT_CSS = """
    ChangesScreen #changes-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, t1: int, t2: int, origin: str = "") -> None:
        super().__init__()
        self.t1, self.t2 = min(t1, t2), max(t1, t2)
        self.origin = origin
        self.result: WhatChanged | None = None
        self.lines: list[str | Moved] = []
        self._paths: dict[ObjectKey, str] = {}

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
        self.result = what_changed(self.kapp.source.tmap, self.t1, self.t2)
        lines: list[str | Moved] = []
        for type_name, moved in self.result.by_type.items():
            lines.append(type_name)
            lines.extend(moved)
        self.lines = lines
        first = next((i for i, x in enumerate(lines) if isinstance(x, Moved)), 0)
        self.list.set_count(len(lines), first)
        self._title()
        self.list.focus()

    def _title(self) -> None:
        assert self.result is not None
        tz = self.kapp.settings.tz
        line1 = Text.assemble(
            ("What changed", "bold"),
            "  ",
            (format_clock(self.t1, tz, millis=True), "bold"),
            " → ",
            (format_clock(self.t2, tz, millis=True), "bold"),
            (f"  ({format_offset(self.t2 - self.t1)[1:]})", "dim"),
        )
        if self.origin:
            line1.append(f"  from {self.origin}", style="dim")
        total = self.result.total
        line2 = Text(
            f"{total} object{'s' if total != 1 else ''} differ · + added · ~ modified · "
            "- deleted · Enter: diff between the two moments",
            style="dim",
        )
        self.query_one("#changes-title", Static).update(Text("\n").join([line1, line2]))

    def _line(self, i: int) -> Text:
        item = self.lines[i]
        assert self.result is not None
        if isinstance(item, str):
            counts = self.result.counts(item)
            text = Text(item, style="bold cyan")
            parts = [f"{n} {how}" for how, n in counts.items() if n]
            text.append("  " + ", ".join(parts), style="dim")
            return text
        sign, style = _SIGN[item.how]
        key = item.key
        name = f"{key.namespace}/{key.name}" if key.namespace else key.name
        text = Text(f"  {sign} ", style=style)
        text.append(name)
        if item.how == MODIFIED:
            text.append("  " + self._changed(key), style="dim")
        return text

    def _changed(self, key: ObjectKey) -> str:
        found = self._paths.get(key)
        if found is None:
            tmap = self.kapp.source.tmap
            a, b = tmap.get(key, self.t1), tmap.get(key, self.t2)
            paths = meaningful_paths(key, a, b) if a is not None and b is not None else []
            found = ", ".join(paths) if paths else "(only resourceVersion, managedFields)"
            self._paths[key] = found
        return found

    # --- actions (scope `changes`) -----------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_open(self) -> None:
        """The selected object's diff between the two moments."""
        if not self.lines:
            return
        item = self.lines[self.list.index]
        if isinstance(item, Moved):
            self.app.push_screen(DiffScreen(item.key, FIXED, self.t1, self.t2))
