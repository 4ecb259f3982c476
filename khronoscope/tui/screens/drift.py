"""The drift view: the moment shown against a directory of manifests in Git (`:drift DIR`).

Objects only in the cluster, only in Git, and changed (with the field paths and the YAML diff),
from `export.compute_drift_async`: the cluster side is read on the app's event loop in steps
(the TemporalMap is only touched from there), reading Git and comparing run in a thread.
`r` compares again at the moment shown now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.timefmt import format_clock
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.commands import DriftTarget
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import DEFAULT_KEYMAP
from khronoscope.tui.offloop import offloader


def report_text(report: Any, tz: Any) -> Text:
    """The report, coloured: sections, field paths, and diffs."""
    # names, paths and diff lines are the cluster's text (and Git's): each through safe_line
    where = f"{report.repo}@{report.commit[:12]}" + (f":{report.path}" if report.path else "")
    where = safe_line(where)
    out = Text()
    cluster = safe_line(str(report.cluster))
    out.append(f"cluster {cluster} @ {format_clock(report.t, tz)}", style="bold")
    out.append(f" vs {where} ({report.mode.value} comparison", style="bold")
    if report.scope_note:
        out.append(f", cluster side limited to {safe_line(report.scope_note)}")
    out.append(")\n")
    summary = (
        f"{len(report.changed)} changed · {len(report.only_in_cluster)} only in the cluster · "
        f"{len(report.only_in_git)} only in Git · {report.same} the same\n"
    )
    out.append(summary, style="bold yellow" if report.has_drift else "bold green")
    if report.only_in_cluster:
        out.append(f"\nonly in the cluster ({len(report.only_in_cluster)})\n", style="bold")
        for item in report.only_in_cluster:
            out.append(f"  + {safe_line(str(item.key))}\n", style="green")
    if report.only_in_git:
        out.append(f"\nonly in Git ({len(report.only_in_git)})\n", style="bold")
        for item in report.only_in_git:
            out.append(f"  - {safe_line(str(item.key))}", style="red")
            out.append(f"  ({safe_line(str(item.git_path))})\n", style="dim")
    if report.changed:
        out.append(f"\nchanged ({len(report.changed)})\n", style="bold")
        for item in report.changed:
            out.append(f"  ~ {safe_line(str(item.key))}", style="yellow")
            out.append(f"  ({safe_line(str(item.git_path))})\n", style="dim")
            for p in item.paths:
                out.append(f"      {safe_line(p)}\n", style="cyan")
            for line in item.diff.rstrip("\n").splitlines() if item.diff else ():
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                out.append(f"        {safe_line(line)}\n", style=style)
    for problem in report.problems:
        out.append(f"\nwarning: {safe_line(str(problem))}", style="bold red")
    return out


class DriftScreen(Screen[None]):
    """The drift report of the moment shown against `target`."""

    KEYMAP_CONTEXT: ClassVar[str] = "drift"
    BINDINGS: ClassVar[list[BindingType]] = DEFAULT_KEYMAP.bindings("drift")  # type: ignore[assignment]

    DEFAULT_CSS = """
    DriftScreen #drift-title { height: 1; background: $panel; padding: 0 1; }
    DriftScreen #drift-scroll { height: 1fr; background: $surface; }
    DriftScreen #drift-body { width: auto; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, target: DriftTarget) -> None:
        super().__init__()
        self.ctx = ctx
        self.target = target
        self.report: Any = None
        self.error = ""
        self.computing = False

    def compose(self) -> ComposeResult:
        """Title, scrollable report, footer."""
        title = Text(f"Drift vs {safe_line(self.target.repo)}", style="bold")
        yield Static(title, id="drift-title")
        with VerticalScroll(id="drift-scroll"):
            yield Static(id="drift-body")
        yield Footer()

    def on_mount(self) -> None:
        """Compare at the moment shown."""
        self.query_one("#drift-scroll").focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        """Compare (again) at the moment shown now."""
        if self.computing:
            return
        self.computing = True
        t = self.ctx.playback.t
        self._body(Text(f"comparing the moment {format_clock(t, self.ctx.settings.tz)}…"))
        self.run_worker(self._compute(t), name="drift", group="drift", exclusive=True)

    async def _compute(self, t: int) -> None:
        from khronoscope.export import compute_drift_async

        target = self.target
        try:
            self.report = await compute_drift_async(
                self.ctx.source,
                t,
                Path(target.repo).expanduser(),
                rev=target.rev,
                path=target.path,
                offload=offloader(),
            )
            self.error = ""
        except KhronoscopeError as err:
            self.report, self.error = None, str(err)
        except Exception as err:  # one line, never a crash of the investigation
            self.report, self.error = None, f"internal error: {type(err).__name__}: {err}"
        finally:
            self.computing = False
        if self.report is not None:
            self._body(report_text(self.report, self.ctx.settings.tz))
        else:
            self._body(Text(safe_block(self.error), style="bold red"))

    def _body(self, text: Text) -> None:
        self.query_one("#drift-body", Static).update(text)

    def action_back(self) -> None:
        """Back to the browser."""
        self.dismiss()
