"""`:aliases` (k9s's `ctrl+a`): every name a type answers to on the `:` line, where it comes
from (discovery, kubectl, k9s, your aliases.yaml); Enter opens the type's view."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.tui.aliases import Aliases, AliasGroup
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.widgets.vlist import VirtualList


class AliasesScreen(Screen[None]):
    """Alias, type (or command line), origin; sorted by type."""

    KEYMAP_CONTEXT: ClassVar[str] = "aliases"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("aliases")  # type: ignore[assignment]

    DEFAULT_CSS = """
    AliasesScreen #aliases-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, aliases: Aliases, user_file: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.entries: list[AliasGroup] = aliases.groups()
        self.user_file = user_file
        self._width = min(max([4, *(len(g.target) for g in self.entries)]), 48)

    def compose(self) -> ComposeResult:
        """Title, list, footer."""
        yield Static(id="aliases-title")
        header = Text(f"  {'TYPE':<{self._width}}  ALIASES (where from: k9s, kubectl, yours)")
        yield VirtualList(self._line, len(self.entries), header=header, empty="no aliases")
        yield Footer()

    def on_mount(self) -> None:
        """Title; the list has the keys."""
        line1 = Text.assemble(("Aliases", "bold"), (f"  {len(self.entries)}", "dim"))
        line2 = Text(
            f"Enter: open the view · add your own in {safe_line(self.user_file)} "
            "(aliases: {pp: v1/pods, crash: pods -A /CrashLoop})",
            style="dim",
        )
        self.query_one("#aliases-title", Static).update(Text("\n").join([line1, line2]))
        self.query_one(VirtualList).focus()

    def _line(self, i: int) -> Text:
        group = self.entries[i]
        text = Text(f"  {safe_line(group.target):<{self._width}}  ", style="bold cyan")
        for n, (alias, origin) in enumerate(group.aliases):
            text.append(", " if n else "")
            text.append(safe_line(alias), style="magenta" if origin == "yours" else "")
            if origin in ("k9s", "kubectl", "yours"):
                text.append(f" ({origin})", style="dim")
        return text

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_open(self) -> None:
        """Run the alias (open its view)."""
        if not self.entries:
            return
        alias = self.entries[self.query_one(VirtualList).index].aliases[0][0]
        self.dismiss()
        self.ctx.nav.run_command(alias)
