"""`:xray TYPE [NS]` (k9s's xray): the owner tree at t, Deployment -> ReplicaSets by revision ->
Pods with their status, trouble in red. It follows the cursor like every view that shows a
moment (the time keys work here; `x` steps to the next trouble of the selected object)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.types import ObjectKey
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.owners import CHILD_TYPES, TreeLine, flatten, xray
from khronoscope.tui.timecontrol import InView
from khronoscope.tui.widgets.header import time_label
from khronoscope.tui.widgets.timeline import Timeline
from khronoscope.tui.widgets.vlist import VirtualList


def tree_line_text(line: TreeLine) -> Text:
    """`├─ replicasets api-7f8b9  3  3  2  revision 2` with trouble in red."""
    node = line.node
    key = node.key
    text = Text(line.prefix, style="dim")
    text.append(key.type.split(".", 1)[0].rstrip("s") + " ", style="cyan")
    name = f"{key.namespace}/{key.name}" if line.depth == 0 and key.namespace else key.name
    text.append(safe_line(name), style="bold" if line.depth == 0 else "")
    if node.status:
        text.append("  " + safe_line(node.status), style="red" if node.trouble else "green")
    if node.trouble and node.trouble not in node.status:
        text.append(f"  {safe_line(node.trouble)}", style="bold red")
    if node.note:
        text.append(f"  {node.note}", style="dim")
    return text


def _descendant_types(type_name: str) -> set[str]:
    out = {type_name}
    for child in CHILD_TYPES.get(type_name, ()):
        out |= _descendant_types(child)
    return out


class XrayScreen(Screen[None]):
    """The tree of one type's objects and what they own, at the playback cursor's t."""

    KEYMAP_CONTEXT: ClassVar[str] = "xray"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("xray")  # type: ignore[assignment]

    DEFAULT_CSS = """
    XrayScreen #xray-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, type_name: str, namespace: str | None) -> None:
        super().__init__()
        self.ctx = ctx
        self.type_name = type_name
        self.namespace = namespace
        self.lines: list[TreeLine] = []
        self._types = sorted(_descendant_types(type_name))
        self._computed: tuple[int, int] | None = None  # (t, change_count) of the tree shown

    @property
    def key(self) -> ObjectKey | None:
        """The object on the selected line (what `H`, `D`, `r`, `{` `}` act on)."""
        if not self.lines:
            return None
        return self.lines[min(self.query_one(VirtualList).index, len(self.lines) - 1)].node.key

    def in_view(self) -> InView:
        """What the time keys act on: the object on the selected line."""
        return InView.of_object(self.key)

    def compose(self) -> ComposeResult:
        """Title, tree, timeline, footer."""
        yield Static(id="xray-title")
        yield VirtualList(self._line, empty=f"no {self.type_name} at this time")
        yield Timeline(self.ctx.time)
        yield Footer()

    def on_mount(self) -> None:
        """Build the tree, then follow the cursor."""
        self.refresh_tree()
        self.set_interval(1 / max(self.ctx.settings.refresh_hz, 0.5), self.refresh_tree)
        self.query_one(VirtualList).focus()

    def _stale(self, t: int) -> bool:
        if self._computed is None:
            return True
        t0, count = self._computed
        tmap = self.ctx.source.tmap
        if t == t0 and tmap.change_count == count:
            return False
        lo, hi = min(t0, t), max(t0, t)
        ns = self.namespace
        return any(tmap.count_changes(lo + 1, hi, ty, ns) for ty in self._types) or (
            t == t0 and tmap.change_count != count
        )

    def refresh_tree(self) -> None:
        """Rebuild the tree when something in it may have changed between t and the last t."""
        t = self.ctx.playback.t
        if not self._stale(t):
            self._computed = (t, self.ctx.source.tmap.change_count)
            self._title(t)
            return
        tmap = self.ctx.source.tmap
        selected = self.key
        self.lines = flatten(xray(tmap, t, self.type_name, self.namespace))
        self._computed = (t, tmap.change_count)
        index = next((i for i, ln in enumerate(self.lines) if ln.node.key == selected), None)
        self.query_one(VirtualList).set_count(len(self.lines), index)
        # after the tree: its trouble count is of the lines just built, not of the last t's
        self._title(t)

    def _title(self, t: int) -> None:
        where = self.namespace or "all namespaces"
        troubled = sum(1 for ln in self.lines if ln.node.trouble)
        line1 = Text.assemble(
            ("Xray", "bold"), "  ", (safe_line(self.type_name), "bold cyan"), f" in {where}"
        )
        if troubled:
            line1.append(f"  {troubled} in trouble", style="bold red")
        line2 = Text("as of ")
        line2.append_text(time_label(self.ctx.playback, self.ctx.settings.tz))
        self.query_one("#xray-title", Static).update(Text("\n").join([line1, line2]))

    def _line(self, i: int) -> Text:
        return tree_line_text(self.lines[i])

    # --- actions (scope `xray`) --------------------------------------------------------------

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_open(self) -> None:
        """Describe the selected object at t."""
        if self.key is not None:
            self.ctx.nav.show_detail(self.key, "describe")

    def action_yaml(self) -> None:
        """The selected object's YAML at t."""
        if self.key is not None:
            self.ctx.nav.show_detail(self.key, "yaml")
