"""The export dialog: commit the moment shown to a Git repository (repo, branch, scope).

Only reading the state at the moment shown runs on the app's event loop (the TemporalMap is only
ever touched from there; a live session keeps writing to it), in steps; rendering and writing
the commit run in a thread that reports its progress to the dialog. An export to a repository
still being written is refused, even from a dialog opened again meanwhile. The repository of the
last successful export is remembered (XDG state dir); its branch is not: a branch pre-filled from
an earlier export would put this moment on that branch unnoticed.
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
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from khronoscope.core.files import replace_file
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.navigator import Navigator
from khronoscope.tui.offloop import Throttled, offloader
from khronoscope.tui.typeahead import PromptStaysOpen

if TYPE_CHECKING:
    from khronoscope.export import ExportResult

DEFAULT_REPO = "~/khronoscope-export"


def state_file() -> Path:
    """Where the last export's repository is remembered."""
    from platformdirs import user_state_path

    return user_state_path("khronoscope") / "export.json"


def remembered() -> dict[str, str]:
    """The last export's {"repo"} (the default when none or unreadable)."""
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    return {"repo": str(data.get("repo") or DEFAULT_REPO)}


def remember(repo: str) -> None:
    """Keep the repository for the next export (best effort)."""
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps({"repo": repo}).encode())
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


class ExportScreen(ModalScreen[None]):
    """Repository path, branch and scope; Export runs `export_moment_async` at the moment shown."""

    KEYMAP_CONTEXT: ClassVar[str] = "export"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("export")  # type: ignore[assignment]

    class Progress(Message):
        """`done` of `total` objects rendered (posted from the exporting thread)."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $accent; background: $surface; padding: 0 2;
    }
    ExportScreen #export-buttons { height: auto; margin-top: 1; }
    ExportScreen #export-result { margin-top: 1; height: auto; }
    """

    def __init__(self, ctx: ScreenContext, t: int, view: ViewScope) -> None:
        super().__init__()
        self.ctx = ctx
        self.t = t
        self.view = view
        self.result: Any = None
        self.error = ""
        self.running = False
        # (repository, branch) pairs the user was warned about: Export again commits there
        self._warned: set[tuple[str, str]] = set()

    def compose(self) -> ComposeResult:
        """The form."""
        last = remembered()
        moment = format_clock(self.t, self.ctx.settings.tz)
        with Vertical():
            yield Static(Text.assemble(("Export to Git", "bold"), f"  the moment {moment}"))
            yield Label("Repository (created when missing)")
            yield Input(last["repo"], id="export-repo")
            yield Label("Branch (empty: the repository's current branch)")
            yield Input(placeholder="(current branch)", id="export-branch")
            yield Label("Scope")
            with RadioSet(id="export-scope"):
                yield RadioButton("everything (owned objects and events skipped)", value=True)
                # Text, not str (a str label is markup); the namespace is the cluster's text
                view = safe_line(self.view.describe())
                yield RadioButton(Text(f"what is in view: {view}"), id="scope-view")
                ns = self.view.namespace
                yield RadioButton(
                    Text(f"namespace {safe_line(ns)}")
                    if ns
                    else "namespace (choose one in the browser first)",
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
        self.post_message(PromptStaysOpen())  # the keys typed after Enter are the dialog's
        if self.running:
            return
        repo = self.query_one("#export-repo", Input).value.strip()
        if not repo:
            self._show(Text("give a repository path", style="bold red"))
            return
        self.running = True
        self._show(Text("exporting…", style="bold"))
        branch = self.query_one("#export-branch", Input).value.strip() or None
        self.run_worker(
            self._export(repo, branch, self.scope()), name="export", group="export", exclusive=True
        )

    async def _export(self, repo: str, branch: str | None, scope: Any) -> None:
        from khronoscope.export import export_moment_async

        nav = self.ctx.nav
        self.result, self.error = None, ""
        result: ExportResult | None = None
        if await self._warn_back_in_time(repo, branch):
            self.running = False
            return
        try:
            result = await export_moment_async(
                self.ctx.source,
                self.t,
                Path(repo).expanduser(),
                branch=branch,
                scope=scope,
                progress=Throttled(
                    lambda done, total: self.post_message(self.Progress(done, total))
                ),
                offload=offloader(lambda future: _report_late(nav, repo, future)),
            )
        except KhronoscopeError as err:
            self.error = str(err)
        except Exception as err:  # one line, never a crash of the investigation
            self.error = internal_error(err)
        finally:
            self.running = False
        if result is None:
            self._show(Text(safe_block(self.error), style="bold red"))  # may quote object names
            return
        self.result = result
        remember(repo)
        self._show(result_text(result))

    async def _warn_back_in_time(self, repo: str, branch: str | None) -> bool:
        """True (and a warning, a new branch offered) when the branch's last commit is dated
        after the moment shown: its history would go back in time. Once per branch."""
        from khronoscope.export.tipdate import goes_back_in_time, new_branch_name

        if (repo, branch or "") in self._warned:
            return False
        tip = await asyncio.to_thread(goes_back_in_time, repo, branch, self.t)
        if tip is None:
            return False
        self._warned.add((repo, branch or ""))
        offered = await asyncio.to_thread(new_branch_name, repo, self.t)
        self.query_one("#export-branch", Input).value = offered
        tz = self.ctx.settings.tz
        where = f"branch {safe_line(branch)}" if branch else "the current branch"
        self._show(
            Text.assemble(
                ("history would go back in time: ", "bold yellow"),
                f"the last commit of {where} is dated {format_clock(tip, tz)}, after "
                f"{format_clock(self.t, tz)}. Export commits to the new branch above; "
                f"to commit on {where} anyway, set it back and Export again.",
            )
        )
        return True

    def on_export_screen_progress(self, message: Progress) -> None:
        """Show how far the export is (a late message after the end is ignored)."""
        if not self.running:
            return
        if message.done < message.total:
            text = f"rendering {message.done}/{message.total} objects…"
        else:
            text = "writing the commit…"
        self._show(Text(text, style="bold"))

    def _show(self, text: Text) -> None:
        self.query_one("#export-result", Static).update(text)

    @on(Button.Pressed, "#export-close")
    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss()


def result_text(result: ExportResult) -> Text:
    """What an export did, for the dialog."""
    c = result.counts
    branch, repo = safe_line(str(result.branch)), safe_line(str(result.repo))
    if result.commit:
        return Text.assemble(
            ("commit ", "bold green"),
            (result.commit, "bold"),
            f"\non branch {branch} of {repo} "
            f"(+{c.added} ~{c.modified} -{c.deleted}, {result.files} objects)",
        )
    return Text(
        f"nothing changed: branch {branch} of {repo} already holds this moment (no commit)",
        style="bold",
    )


def internal_error(err: BaseException) -> str:
    """An unexpected error as one line."""
    first = str(err).splitlines()[0] if str(err) else ""
    return f"internal error: {type(err).__name__}: {first}"


def _report_late(nav: Navigator, repo: str, future: asyncio.Future[Any]) -> None:
    # the dialog was closed while the thread still wrote: its outcome becomes a notification
    if future.cancelled():
        return
    err = future.exception()
    if err is None:
        remember(repo)
        nav.notify(result_text(future.result()).plain.replace("\n", " "), title="export")
    elif isinstance(err, KhronoscopeError):
        nav.notify(str(err), title="export", severity="error")
    else:
        nav.notify(internal_error(err), title="export", severity="error")
