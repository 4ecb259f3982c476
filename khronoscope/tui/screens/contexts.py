"""`:ctx` (k9s's contexts view): the kubeconfig's contexts, read when the view opens, the one in
use marked; Enter switches to another (the session restarts on it, and a new recording
begins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_line
from khronoscope.core.source import ContextInfo
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.widgets.vlist import VirtualList


class ContextsScreen(Screen[None]):
    """NAME, CLUSTER, USER, NAMESPACE; `*` marks the context in use."""

    KEYMAP_CONTEXT: ClassVar[str] = "contexts"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("contexts")  # type: ignore[assignment]

    DEFAULT_CSS = """
    ContextsScreen #contexts-title { height: 2; background: $panel; padding: 0 1; }
    """

    def __init__(self, contexts: list[ContextInfo], switch: Callable[[str], None]) -> None:
        super().__init__()
        self.contexts = contexts
        self._switch = switch
        self._width = max([len("NAME"), *(len(c.name) for c in contexts)]) + 2

    def compose(self) -> ComposeResult:
        """Title, list, footer."""
        yield Static(id="contexts-title")
        w = self._width
        header = Text(f"  {'NAME':<{w}}{'CLUSTER':<24}{'USER':<24}NAMESPACE")
        yield VirtualList(
            self._line, len(self.contexts), header=header, empty="no contexts in the kubeconfig"
        )
        yield Footer()

    def on_mount(self) -> None:
        """Title; the cursor on the context in use."""
        line1 = Text.assemble(("Contexts", "bold"), (f"  {len(self.contexts)}", "dim"))
        line2 = Text("Enter: switch (a new session and recording)", style="dim")
        self.query_one("#contexts-title", Static).update(Text("\n").join([line1, line2]))
        vlist = self.query_one(VirtualList)
        current = next((i for i, c in enumerate(self.contexts) if c.current), 0)
        vlist.set_count(len(self.contexts), current)
        vlist.focus()

    def _line(self, i: int) -> Text:
        c = self.contexts[i]
        w = self._width
        text = Text("* " if c.current else "  ", style="bold green")
        text.append(f"{safe_line(c.name):<{w}}", style="bold" if c.current else "")
        text.append(f"{safe_line(c.cluster):<24}{safe_line(c.user):<24}{safe_line(c.namespace)}")
        return text

    def action_back(self) -> None:
        """Back."""
        self.dismiss()

    def action_switch(self) -> None:
        """Switch to the selected context."""
        if self.contexts:
            self._switch(self.contexts[self.query_one(VirtualList).index].name)
