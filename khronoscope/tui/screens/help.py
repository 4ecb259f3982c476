"""`?`: every binding with its keys, generated from the keymap (so it is never out of date)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.tui.keymap import ACTIONS, DEFAULT_KEYMAP, Keymap
from khronoscope.tui.timecontrols import TIME_COMMANDS

if TYPE_CHECKING:
    from khronoscope.tui.app import KhronoscopeApp

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


class HelpScreen(Screen[None]):
    """The keymap as a scrollable table (a full screen, like k9s' help: the app's keys, such
    as `?` to close it again, stay active)."""

    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("help")  # type: ignore[assignment]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; height: 1fr; background: $surface; padding: 0 1;
    }
    HelpScreen Static { width: auto; }
    """

    def compose(self) -> ComposeResult:
        """The table of bindings and the command-line summary."""
        app: KhronoscopeApp = self.app  # type: ignore[assignment]
        with VerticalScroll():
            yield Static(Text("khronoscope keys", style="bold"))
            yield Static(help_table(app.settings.keymap))
            yield Static(
                Text(
                    "\n:pods  :deploy kube-system  :pods -A  :ns  :databases.example.com  :q\n"
                    ":drift DIR [--path SUBDIR] [--rev REV]  (this moment vs manifests in Git)\n"
                    "/web  /!web  /-l app=web,tier!=db  (regex on names, label selector, ! "
                    "inverts)\n"
                    f":goto 14:32  :goto -15m  :live  :start  :changes BOOKMARK now  "
                    f"(all: {TIME_COMMANDS})\n"
                    "Change keys in $XDG_CONFIG_HOME/khronoscope/keybindings.toml "
                    "or with --keymap FILE.",
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
