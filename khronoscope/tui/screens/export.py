"""The export dialog: commit the moment shown to a Git repository (repo, branch, scope).

The export runs on the app's event loop (the TemporalMap is only ever touched from there; a live
session keeps writing to it) inside a worker, after the dialog has drawn "exporting…". The
repository and branch of the last successful export are remembered (XDG state dir).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.appaware import AppAware
from khronoscope.tui.keymap import DEFAULT_KEYMAP

if TYPE_CHECKING:
    pass

DEFAULT_REPO = "~/khronoscope-export"


def state_file() -> Path:
    """Where the last export's repository and branch are remembered."""
    from platformdirs import user_state_path

    return user_state_path("khronoscope") / "export.json"


def remembered() -> dict[str, str]:
    """The last export's {"repo", "branch"} (defaults when none or unreadable)."""
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return {
        "repo": str(data.get("repo") or DEFAULT_REPO),
        "branch": str(data.get("branch") or ""),
    }


def remember(repo: str, branch: str) -> None:
    """Keep the repository and branch for the next export (best effort)."""
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"repo": repo, "branch": branch}), encoding="utf-8")
    except OSError:
        pass


@dataclass(frozen=True)
class ViewScope:
    """What the browser shows: the scope "what is in view" exports exactly these objects."""

    type_name: str
    namespace: str | None
    filter_label: str
    keys: frozenset[ObjectKey]

    def describe(self) -> str:
        """`12 pods in shop, filter 'web'`."""
        where = f" in {self.namespace}" if self.namespace else ""
        flt = f", filter {self.filter_label!r}" if self.filter_label else ""
        return f"{len(self.keys)} {self.type_name}{where}{flt}"


class ExportScreen(AppAware, ModalScreen[None]):
    """Repository path, branch and scope; Export runs `export_moment` at the moment shown."""

    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("export")  # type: ignore[assignment]

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 90; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $accent; background: $surface; padding: 0 2;
    }
    ExportScreen #export-buttons { height: auto; margin-top: 1; }
    ExportScreen #export-result { margin-top: 1; height: auto; }
    """

    def __init__(self, t: int, view: ViewScope) -> None:
        super().__init__()
        self.t = t
        self.view = view
        self.result: Any = None
        self.error = ""
        self.running = False

    def compose(self) -> ComposeResult:
        """The form."""
        last = remembered()
        moment = format_clock(self.t, self.kapp.settings.tz)
        with Vertical():
            yield Static(Text.assemble(("Export to Git", "bold"), f"  the moment {moment}"))
            yield Label("Repository (created when missing)")
            yield Input(last["repo"], id="export-repo")
            yield Label("Branch (empty: the repository's current branch)")
            yield Input(last["branch"], placeholder="(current branch)", id="export-branch")
            yield Label("Scope")
            with RadioSet(id="export-scope"):
                yield RadioButton("everything (owned objects and events skipped)", value=True)
                yield RadioButton(f"what is in view: {self.view.describe()}", id="scope-view")
                ns = self.view.namespace
                yield RadioButton(
                    f"namespace {ns}" if ns else "namespace (choose one in the browser first)",
                    id="scope-namespace",
                    disabled=ns is None,
                )
            yield Static(Text("Secret values are redacted.", style="dim"))
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-run")
                yield Button("Close", id="export-close")
            yield Static(id="export-result")

    def on_mount(self) -> None:
        """Focus the repository path."""
        self.query_one("#export-repo", Input).focus()

    # --- the export ------------------------------------------------------------------------

    def scope(self) -> Any:
        """The ExportScope the radio buttons ask for."""
        from khronoscope.export import ExportScope

        pressed = self.query_one("#export-scope", RadioSet).pressed_button
        which = pressed.id if pressed is not None else None
        if which == "scope-view":
            # the user picked these very objects: owned ones (pods...) are not skipped
            return ExportScope(keys=self.view.keys, include_skipped=True)
        if which == "scope-namespace" and self.view.namespace:
            return ExportScope(namespaces=frozenset({self.view.namespace}))
        return ExportScope()

    @on(Button.Pressed, "#export-run")
    @on(Input.Submitted)
    def start(self) -> None:
        """Run the export (once at a time)."""
        if self.running:
            return
        repo = self.query_one("#export-repo", Input).value.strip()
        if not repo:
            self._show(Text("give a repository path", style="bold red"))
            return
        self.running = True
        self._show(Text("exporting…", style="bold"))
        self.run_worker(self._export(repo), name="export", group="export", exclusive=True)

    async def _export(self, repo: str) -> None:
        from khronoscope.export import export_moment

        branch = self.query_one("#export-branch", Input).value.strip() or None
        await asyncio.sleep(0.05)  # let "exporting…" draw: the export holds the loop meanwhile
        self.result, self.error = None, ""
        try:
            path = Path(repo).expanduser()
            result = export_moment(
                self.kapp.source, self.t, path, branch=branch, scope=self.scope()
            )
        except KhronoscopeError as err:
            self.error = str(err)
            self._show(Text(self.error, style="bold red"))
            return
        except Exception as err:  # one line, never a crash of the investigation
            self.error = f"internal error: {type(err).__name__}: {err}"
            self._show(Text(self.error, style="bold red"))
            return
        finally:
            self.running = False
        self.result = result
        remember(repo, branch or "")
        c = result.counts
        if result.commit:
            text = Text.assemble(
                ("commit ", "bold green"),
                (result.commit, "bold"),
                f"\non branch {result.branch} of {result.repo} "
                f"(+{c.added} ~{c.modified} -{c.deleted}, {result.files} objects)",
            )
        else:
            text = Text(
                f"nothing changed: branch {result.branch} of {result.repo} already holds "
                "this moment (no commit)",
                style="bold",
            )
        self._show(text)

    def _show(self, text: Text) -> None:
        self.query_one("#export-result", Static).update(text)

    @on(Button.Pressed, "#export-close")
    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss()
