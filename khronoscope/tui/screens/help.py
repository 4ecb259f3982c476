"""`?`: every binding with its keys, generated from the keymap (so it is never out of date)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.tui.commands import help_lines
from khronoscope.tui.keymap import ACTIONS, DEFAULT_KEYMAP, Keymap

SCOPE_TITLES = {
    "app": "Everywhere",
    "browser": "Browser",
    "table": "Table",
    "detail": "YAML / describe",
    "help": "This help",
    "time": "Time travel",
    "list": "Lists",
    "history": "History of an object",
    "diff": "Diff",
    "bookmarks": "Bookmarks",
    "changes": "What changed",
    "export": "Export dialog",
    "drift": "Drift view",
    "logs": "Logs",
    "aliases": "Aliases (:aliases)",
    "contexts": "Contexts (:ctx)",
    "xray": "Xray (:xray TYPE)",
    "related": "Related (r)",
}


def help_table(keymap: Keymap) -> Table:
    """A table of scopes, keys, descriptions and binding ids."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=False)
    table.add_column("keys", style="bold cyan", no_wrap=True)
    table.add_column("action")
    table.add_column("id (keybindings.toml)", style="dim")
    scope = ""
    for a in ACTIONS:
        if a.scope != scope:
            scope = a.scope
            table.add_row(Text(SCOPE_TITLES.get(scope, scope), style="bold underline"), "", "")
        origin = keymap.origin.get(a.id, "default")
        mark = "" if origin == "default" else "  (yours)"
        table.add_row(keymap.display(a.id), a.description + mark, a.id)
    return table


def command_table() -> Table:
    """Every `:` command of the catalogue with what it does (wrapped, never cut)."""
    table = Table(box=None, show_header=False, pad_edge=False, expand=False)
    table.add_column("command", style="bold cyan", no_wrap=True)
    table.add_column("what it does", overflow="fold")
    for usage, description in help_lines():
        table.add_row(Text(usage), Text(description))
    return table


class HelpScreen(Screen[None]):
    """The keymap as a scrollable table (a full screen, like k9s' help: the app's keys, such
    as `?` to close it again, stay active)."""

    KEYMAP_CONTEXT: ClassVar[str] = "help"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("help")  # type: ignore[assignment]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; height: 1fr; background: $surface; padding: 0 1;
    }
    HelpScreen Static { width: auto; }
    """

    def __init__(self, keymap: Keymap) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        """The table of bindings and the command-line summary."""
        with VerticalScroll():
            yield Static(Text("khronoscope keys", style="bold"))
            yield Static(help_table(self.keymap))
            yield Static(Text("\n: commands", style="bold"))
            yield Static(command_table())
            yield Static(
                Text(
                    "\n/web  /!web  /CrashLoop  /-f apicw  /-l app=web,tier!=db  (regex on the "
                    "whole row, fuzzy name, label selector; ! inverts; filters as you type)\n"
                    "Change keys in $XDG_CONFIG_HOME/khronoscope/keybindings.toml or with "
                    "--keymap FILE; aliases in $XDG_CONFIG_HOME/khronoscope/aliases.yaml.",
                    style="dim",
                )
            )
        yield Footer()

    def on_mount(self) -> None:
        """Scroll with the keyboard straight away."""
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss()
