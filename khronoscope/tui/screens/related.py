"""`r` on any object: what owns it, what it owns (at t), and its Events over the whole record
(those after t dimmed), so an incident's "why" is one key away. Enter describes the line's
object; the time keys work here and the owners and children follow the cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.owners import (
    EventVersion,
    OwnerIndex,
    TreeLine,
    TreeNode,
    events_about,
    flatten,
    owner_chain,
    status_text,
)
from khronoscope.tui.screens.xray import tree_line_text
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.widgets.header import time_label
from khronoscope.tui.widgets.timeline import Timeline
from khronoscope.tui.widgets.vlist import VirtualList


@dataclass(frozen=True)
class Line:
    """A line of the screen: a section title, an object (owner/child), or an Event version."""

    text: Text
    key: ObjectKey | None = None
    event: EventVersion | None = None


class RelatedScreen(Screen[None]):
    """Owners, children and Events of one object."""

    KEYMAP_CONTEXT: ClassVar[str] = "related"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("related")  # type: ignore[assignment]

    DEFAULT_CSS = """
    RelatedScreen #related-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, key: ObjectKey) -> None:
        super().__init__()
        self.ctx = ctx
        self.subject = key
        self.lines: list[Line] = []
        self._shown_t: int | None = None
        self._shown_count = -1

    @property
    def key(self) -> ObjectKey:
        """The object the time keys act on: the one this screen is about."""
        return self.subject

    def in_view(self) -> InView:
        """What the time keys act on: the object shown."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, lines, timeline, footer."""
        yield Static(id="related-title")
        yield VirtualList(self._line)
        yield Timeline(self.ctx.time)
        yield Footer()

    def on_mount(self) -> None:
        """Fill, then follow the cursor."""
        self.refill()
        self.set_interval(1 / max(self.ctx.settings.refresh_hz, 0.5), self.refill)
        vlist = self.query_one(VirtualList)
        vlist.focus()

    def refill(self) -> None:
        """Rebuild the lines when t or the store moved."""
        t = self.ctx.playback.t
        tmap = self.ctx.source.tmap
        self._title(t)
        if t == self._shown_t and tmap.change_count == self._shown_count:
            return
        self._shown_t, self._shown_count = t, tmap.change_count
        vlist = self.query_one(VirtualList)
        keep = self.lines[vlist.index] if self.lines and vlist.index < len(self.lines) else None
        self.lines = self._build(t)
        index = None
        if keep is not None:
            index = next(
                (
                    i
                    for i, ln in enumerate(self.lines)
                    if (ln.key, ln.event) == (keep.key, keep.event)
                ),
                None,
            )
        if index is None:
            index = next((i for i, ln in enumerate(self.lines) if ln.key is not None), 0)
        vlist.set_count(len(self.lines), index)

    def _build(self, t: int) -> list[Line]:
        source = self.ctx.source
        tmap = source.tmap
        types = source.resource_types()
        key = self.subject
        out: list[Line] = []

        out.append(Line(Text("Owners", style="bold underline")))
        chain = owner_chain(tmap, key, t, types)
        if not chain:
            out.append(Line(Text("  none (nothing owns it at this moment)", style="dim")))
        for depth, owner in enumerate(reversed(chain)):
            node = TreeNode(owner, status_text(tmap, owner, t))
            out.append(Line(tree_line_text(TreeLine(1, node, "  " * depth + "└─ ")), owner))

        out.append(Line(Text("")))
        out.append(Line(Text("Owns", style="bold underline")))
        obj = tmap.get(key, t)
        children = OwnerIndex(tmap, t, key.namespace or None).children(key, obj) if obj else []
        if not children:
            out.append(Line(Text("  nothing at this moment", style="dim")))
        for line in flatten(children):
            shifted = TreeLine(line.depth + 1, line.node, "  " + line.prefix)
            out.append(Line(tree_line_text(shifted), line.node.key))

        out.append(Line(Text("")))
        rt = types.get(key.type)
        kind = rt.kind if rt is not None else (obj or {}).get("kind") or key.type
        events = events_about(tmap, key, str(kind))
        later = sum(1 for e in events if e.t > t)
        title = Text("Events over time", style="bold underline")
        title.append(f"  {len(events)}" + (f" ({later} after t, dimmed)" if later else ""), "dim")
        out.append(Line(title))
        if not events:
            out.append(Line(Text("  none recorded about it", style="dim")))
        tz = self.ctx.settings.tz
        for e in events:
            text = Text("  " + format_clock(e.t, tz)[:19] + "  ", style="dim" if e.t > t else "")
            style = "bold red" if e.type == "Warning" else "green"
            text.append(f"{safe_line(e.type):<8}", style="dim" if e.t > t else style)
            text.append(
                f" {safe_line(e.reason):<22} x{e.count:<4} ", style="dim" if e.t > t else ""
            )
            text.append(safe_line(e.message), style="dim")
            out.append(Line(text, e.key, e))
        return out

    def _title(self, t: int) -> None:
        key = self.subject
        line1 = Text.assemble(("Related", "bold"), "  ", (safe_line(str(key)), "bold cyan"))
        line2 = Text("owners and children as of ")
        line2.append_text(time_label(self.ctx.playback, self.ctx.settings.tz))
        self.query_one("#related-title", Static).update(Text("\n").join([line1, line2]))

    def _line(self, i: int) -> Text:
        return self.lines[i].text

    def _selected(self) -> ObjectKey | None:
        if not self.lines:
            return None
        return self.lines[self.query_one(VirtualList).index].key

    # --- actions (scope `related`) -----------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_open(self) -> None:
        """Describe the object on the line (an Event: the Event, at its time)."""
        key = self._selected()
        if key is not None:
            self.ctx.nav.show_detail(key, "describe")

    def action_yaml(self) -> None:
        """The YAML of the object on the line."""
        key = self._selected()
        if key is not None:
            self.ctx.nav.show_detail(key, "yaml")
