"""The khronoscope browser app and its factory, shared by the CLI and the tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from khronoscope.core.podspec import pod_containers
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.source import HistorySource, log_capture, recorded
from khronoscope.core.types import ObjectKey
from khronoscope.tui.keymap import ACTIONS, CONTEXTS, DEFAULT_KEYMAP
from khronoscope.tui.playback import PlaybackCursor
from khronoscope.tui.replay import replay_settings, start_replay
from khronoscope.tui.screens.browser import BrowserScreen
from khronoscope.tui.screens.capture import CaptureChoice
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.help import HelpScreen
from khronoscope.tui.screens.logs import LogsScreen
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.timecontrols import TimeControls
from khronoscope.tui.widgets.commandline import CommandLine
from khronoscope.tui.widgets.table import ResourceTable
from khronoscope.tui.widgets.vlist import VirtualList


def recorded_range(source: HistorySource) -> tuple[int | None, int | None]:
    """The first and last moment of the record: a recording's own range (its history may still
    be loading), else the store's."""
    rec = recorded(source)
    start = rec.start_t if rec is not None else None
    end = rec.end_t if rec is not None else None
    tmap = source.tmap
    return (
        start if start is not None else tmap.first_t,
        end if end is not None else tmap.last_t,
    )


class KhronoscopeApp(TimeControls, App[None], inherit_bindings=False):
    """The browser over a HistorySource (a live session or a recording)."""

    TITLE = "khronoscope"
    BINDINGS: ClassVar[list[BindingType]] = [  # type: ignore[assignment]
        *DEFAULT_KEYMAP.bindings("app"),
        *DEFAULT_KEYMAP.bindings("time"),
    ]

    def __init__(self, source: HistorySource, settings: BrowserSettings) -> None:
        super().__init__()
        self.source = source
        self.settings = settings
        self.playback = PlaybackCursor(
            settings.clock, source.is_live, settings.at, bounds=partial(recorded_range, source)
        )
        if not source.is_live and settings.at is None:
            # a recording opens at its last moment
            rec = recorded(source)
            end = rec.end_t if rec is not None else None
            self.playback.seek(end or source.tmap.last_t or settings.clock())
        elif source.is_live and settings.at is not None and settings.at >= settings.clock():
            # nothing is recorded ahead of now: a future --at starts live
            self.playback.go_live()
            self.time_message = "--at is not in the past: following live"
        self.set_keymap(settings.keymap.overrides())
        # run once the app is mounted, on its event loop (e.g. start a cluster session's tasks)
        self.startup_hooks: list[Callable[[KhronoscopeApp], object]] = []
        self._drift_repo = ""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification as plain text, controls shown: messages quote object names,
        bookmark labels and errors (widgets' `notify` calls this one). `markup` is ignored."""
        super().notify(
            safe_block(message),
            title=safe_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_default_screen(self) -> Screen:
        """The browser."""
        return BrowserScreen()

    def on_mount(self) -> None:
        """Report keymap problems once, in the app (they were one line each at start-up)."""
        for line in [*self.settings.startup_messages, *self.settings.keymap.problems]:
            self.notify(line, title="keymap", severity="warning", timeout=10)
        self.time_setup()
        start_replay(
            self
        )  # a recording: history loads in the background, a growing file is followed
        for hook in self.startup_hooks:
            hook(self)

    @property
    def browser(self) -> BrowserScreen:
        """The browser screen (always at the bottom of the stack)."""
        return self.screen_stack[0]  # type: ignore[return-value]

    def show_detail(self, key: ObjectKey, mode: str) -> None:
        """Open the YAML or describe view of one object."""
        self.push_screen(DetailScreen(key, mode))

    def show_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Open the log pane of a pod."""
        self.push_screen(LogsScreen(key, container))

    def toggle_capture(self, key: ObjectKey) -> None:
        """Start or stop capturing a pod's logs (a choice of container when it has several)."""
        source = log_capture(self.source)
        if not self.source.is_live or source is None:
            self.notify("logs are captured from a live cluster only", severity="warning")
            return
        marks = source.log_marks
        pod = source.tmap.get(key, self.playback.clock()) or {}
        names = pod_containers(pod)
        if len(names) <= 1 and not marks.is_marked(key):
            self._capture(key, "all")
            return
        if len(names) <= 1:
            self._capture(key, "stop")
            return
        current = marks.containers(key) if marks.is_marked(key) else frozenset()
        self.push_screen(
            CaptureChoice(key, names, current), lambda choice: self._capture(key, choice)
        )

    def _capture(self, key: ObjectKey, choice: str | None) -> None:
        source = log_capture(self.source)
        if choice is None or source is None:
            return
        if choice == "stop":
            source.unmark_logs(key)
            self.notify(f"stopped capturing the logs of {key.name}", timeout=3)
        elif choice == "all":
            if source.log_marks.is_marked(key):
                source.unmark_logs(key)  # from some containers to all of them
            source.mark_logs(key)
            self.notify(f"capturing the logs of {key.name}", timeout=3)
        else:
            source.unmark_logs(key)
            source.mark_logs(key, choice)
            self.notify(f"capturing the logs of {key.name} ({choice})", timeout=3)
        self.browser.query_one(ResourceTable).refresh()

    def _to_browser(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    # --- actions (scope `app`) ---------------------------------------------------------------

    def action_command_line(self) -> None:
        """Open the `:` command line (from any screen)."""
        self._to_browser()
        self.browser.open_prompt(":")

    def action_help(self) -> None:
        """Show the keymap; again to close it."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen())

    def action_export(self) -> None:
        """The export dialog for the moment shown (and what the browser shows)."""
        from khronoscope.tui.screens.export import ExportScreen, ViewScope

        self._to_browser()
        browser = self.browser
        model = browser.model
        keys = frozenset(model.keys_in(0, len(model))) if model is not None else frozenset()
        view = browser.view
        namespace = view.namespace if browser._namespaced(view.type_name) else None
        scope = ViewScope(view.type_name, namespace, view.filter.label, keys)
        self.push_screen(ExportScreen(self.playback.t, scope))

    def action_drift(self) -> None:
        """`:drift DIR` on the command line (the last directory compared, ready to edit)."""
        self._to_browser()
        self.browser.query_one(CommandLine).open(":", f"drift {self._drift_repo}".rstrip() + " ")

    def run_app_command(self, text: str) -> bool:
        """Commands of the `:` line that are not views (`:drift DIR`); True when handled."""
        from khronoscope.tui.screens.drift import DriftArgsError, DriftScreen, parse_drift_args

        head, _, rest = text.strip().lstrip(":").partition(" ")
        if head != "drift":
            return False
        try:
            target = parse_drift_args(rest)
        except DriftArgsError as err:
            self.notify(str(err), title="command", severity="error")
            return True
        self._drift_repo = target.repo
        self.push_screen(DriftScreen(target))
        return True

    # --- command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the keymap active on `screen`, then Textual's own (themes...)."""
        if isinstance(screen, DetailScreen):
            context = "detail"
        elif type(screen).__name__ in ("DriftScreen", "ExportScreen"):
            context = "drift" if type(screen).__name__ == "DriftScreen" else "export"
        elif isinstance(screen, HelpScreen):
            context = "help"
        elif isinstance(screen, LogsScreen):
            context = "logs"
        else:
            context = getattr(screen, "KEYMAP_CONTEXT", "browser")
        nodes = {"app": self, "browser": screen, "detail": screen, "help": screen}
        nodes.update(drift=screen, export=screen, logs=screen)
        nodes.update({s: screen for s in ("history", "diff", "bookmarks", "changes")})
        if self.time_screen(screen):
            nodes["time"] = self
        lists = screen.query(VirtualList)
        if lists:
            nodes["list"] = lists.first()
        if isinstance(screen, BrowserScreen):
            nodes["table"] = screen.query_one(ResourceTable)
        keymap = self.settings.keymap
        for a in ACTIONS:
            if a.scope not in CONTEXTS[context] or a.id == "app.palette" or a.scope not in nodes:
                continue
            yield SystemCommand(
                a.description,
                f"{keymap.display(a.id)}  ·  {a.id}",
                partial(self.run_action, a.action, nodes[a.scope]),
            )
        yield from super().get_system_commands(screen)


def create_app(source: HistorySource, settings: BrowserSettings | None = None) -> KhronoscopeApp:
    """The browser over `source` (the one factory used by the CLI, the tests and the bench)."""
    return KhronoscopeApp(source, replay_settings(source, settings or BrowserSettings()))
