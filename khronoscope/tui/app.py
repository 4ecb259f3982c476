"""The khronoscope browser app and its factory, shared by the CLI and the tests.

The app owns the source, the settings and the time control (tui/timecontrol.py), builds every
screen with a `ScreenContext` of them, and is the screens' navigator (tui/navigator.py): it
opens the screens they ask for and runs `:` commands (the catalogue and its grammar are in
tui/commands.py; the handlers below only act).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from textual import events
from textual.actions import ActionParseResult
from textual.app import App
from textual.binding import BindingType
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, TextArea

from khronoscope.core.podspec import pod_containers
from khronoscope.core.safetext import safe_block, safe_line
from khronoscope.core.source import (
    ContextInfo,
    HistorySource,
    context_lister,
    log_capture,
    recorded,
)
from khronoscope.core.timefmt import TimeParseError
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.tui.commands import COMMANDS, VIEW, CommandError, Invocation, parse_command
from khronoscope.tui.context import ScreenContext
from khronoscope.tui.keymap import ACTIONS, CONTEXTS, DEFAULT_KEYMAP
from khronoscope.tui.palette import KhronoscopeCommands, PaletteEntry, action_entry, command_entry
from khronoscope.tui.playback import PlaybackCursor
from khronoscope.tui.replay import replay_settings, start_replay
from khronoscope.tui.screenkind import TIME_SCOPE, keymap_context
from khronoscope.tui.screens.bookmarks import BookmarksScreen
from khronoscope.tui.screens.browser import BrowserScreen
from khronoscope.tui.screens.capture import CaptureChoice
from khronoscope.tui.screens.changes import ChangesScreen
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.diff import DiffScreen
from khronoscope.tui.screens.help import HelpScreen
from khronoscope.tui.screens.history import HistoryScreen
from khronoscope.tui.screens.logs import LogsScreen
from khronoscope.tui.screens.prompt import BookmarkPrompt, TextPrompt
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.timecontrol import TimeControl
from khronoscope.tui.typeahead import PromptStaysOpen
from khronoscope.tui.widgets.commandline import CommandLine
from khronoscope.tui.widgets.table import ResourceTable
from khronoscope.tui.widgets.vlist import VirtualList

# A prompt taking focus, or closing, releases the held keys at once; this is only the bound for
# a prompt that never comes. At 1 s a busy machine (a big cluster's first sync, load 9 on two
# cores) gave `:events⏎/Warning⏎` to the table before the command line had opened.
TYPEAHEAD_WAIT_S = 5.0
"""How long keys typed while a prompt opens are held at most (then given to what has focus)."""
# keys that end what is typed into a prompt (what follows is for the screen under it)
_CLOSES_PROMPT = frozenset({"enter", "escape"})


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


@dataclass(frozen=True)
class ContextSwitch:
    """What the app returns when the user switched context: the caller restarts on it."""

    context: str


class KhronoscopeApp(App["ContextSwitch | None"], inherit_bindings=False):
    """The browser over a HistorySource (a live session or a recording)."""

    TITLE = "khronoscope"
    # notifications sit above the timeline strip and the footer (they covered the strip's end)
    CSS = "ToastRack { margin-bottom: 3; }"
    # the palette: our actions and `:` commands, then Textual's own (themes, keys, screenshot)
    COMMANDS = App.COMMANDS | {KhronoscopeCommands}
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
        self.time = TimeControl(self.playback, source, settings, self, self._top_screen)
        self.ctx = ScreenContext(source, self.time, settings, self)
        if not source.is_live and settings.at is None:
            # a recording opens at its last moment
            rec = recorded(source)
            end = rec.end_t if rec is not None else None
            self.playback.seek(end or source.tmap.last_t or settings.clock())
        elif source.is_live and settings.at is not None and settings.at >= settings.clock():
            # nothing is recorded ahead of now: a future --at starts live
            self.playback.go_live()
            self.time.message = "--at is not in the past: following live"
        self.set_keymap(settings.keymap.overrides())
        # run once the app is mounted, on its event loop (e.g. start a cluster session's tasks)
        self.startup_hooks: list[Callable[[KhronoscopeApp], object]] = []
        self._drift_repo = ""
        # keys typed while a prompt is opening (a paste, tmux send-keys, a fast typist)
        self._typeahead: list[events.Key] | None = None
        self._typeahead_since = 0.0
        # the input that was given keys up to its Enter: the rest waits until it has closed
        self._typeahead_filled: Widget | None = None
        self._typeahead_timer: Timer | None = None

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

    # --- keys: bindings in the order keys arrive; typeahead while a prompt opens ------------

    async def on_event(self, event: events.Event) -> None:
        """Keys are matched to bindings as they arrive (not after a round trip through the
        focused widget), so a key that opens a prompt takes effect before the next key is
        read; keys arriving while it opens are kept and given to it once it has focus, and
        keys arriving after the Enter that closes a prompt wait until it has closed."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._typeahead is not None:
                self._typeahead.append(event)
                return
            focused = self.focused
            if not isinstance(focused, Input | TextArea) and self.screen.maximized is None:
                if await self._check_bindings(event.key, priority=True):
                    return
                if await self._check_bindings(event.key):
                    return
            await super().on_event(event)
            if isinstance(focused, Input) and event.key in _CLOSES_PROMPT:
                # the input handles its Enter later: what follows is for what comes after it
                self._hold_typing(filled=focused)
            return
        await super().on_event(event)

    async def on_prompt_stays_open(self, message: PromptStaysOpen) -> None:
        """The input that took an Enter stays open: the keys held after it are its own."""
        if self._typeahead_filled is not None and self.focused is self._typeahead_filled:
            await self._release_typing()

    def expect_typing(self) -> None:
        """A prompt is opening: keep the keys that arrive until a text input has focus (or a
        second has passed), then give them to it in order."""
        self._hold_typing()

    def _hold_typing(self, filled: Widget | None = None) -> None:
        """Keep the keys that arrive: until a text input has focus, or (`filled`) until that
        input no longer has it; at most TYPEAHEAD_WAIT_S."""
        if self._typeahead is not None:
            return
        self._typeahead = []
        self._typeahead_filled = filled
        self._typeahead_since = time.monotonic()
        if self._typeahead_timer is None:
            self._typeahead_timer = self.set_interval(1 / 100, self._typeahead_check)
        else:
            self._typeahead_timer.resume()

    async def _typeahead_check(self) -> None:
        if self._typeahead is None:
            if self._typeahead_timer is not None:
                self._typeahead_timer.pause()
            return
        waited = time.monotonic() - self._typeahead_since
        focused = self.focused
        if self._typeahead_filled is not None:
            ready = focused is not self._typeahead_filled  # that prompt has closed
        else:
            ready = isinstance(focused, Input | TextArea)
        if ready or waited > TYPEAHEAD_WAIT_S:
            await self._release_typing()

    async def _release_typing(self) -> None:
        keys, self._typeahead = self._typeahead or [], None
        self._typeahead_filled = None
        if self._typeahead_timer is not None:
            self._typeahead_timer.pause()
        for i, key in enumerate(keys):
            if self._typeahead is not None:
                # a key just given opened a prompt, or was the Enter closing one: the rest
                # waits for it
                self._typeahead.extend(keys[i:])
                return
            # a fresh event, as the terminal sends it: bindings, or the focused input
            await self.on_event(events.Key(key.key, key.character))

    def get_default_screen(self) -> Screen:
        """The browser."""
        return BrowserScreen(self.ctx)

    def _top_screen(self) -> object:
        return self.screen if self.screen_stack else None

    def on_mount(self) -> None:
        """Report keymap problems once, in the app (they were one line each at start-up)."""
        for line in [*self.settings.startup_messages, *self.settings.keymap.problems]:
            self.notify(line, title="keymap", severity="warning", timeout=10)
        self.time.attach_timer(self.set_interval(1 / 20, self.time.tick, pause=True))
        # a recording: history loads in the background, a growing file is followed
        start_replay(self)
        for hook in self.startup_hooks:
            hook(self)

    @property
    def browser(self) -> BrowserScreen:
        """The browser screen (always at the bottom of the stack)."""
        return self.screen_stack[0]  # type: ignore[return-value]

    # --- time actions: the keymap's `time` scope runs on the time control ---------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Time actions only where a moment is shown (hidden from the footer elsewhere)."""
        if action.startswith("time_") and not self.time.enabled():
            return False
        return super().check_action(action, parameters)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """The `time` bindings are the app's (active on every screen that shows a moment);
        their actions are the time control's methods."""
        name = action if isinstance(action, str) else action[1]
        if default_namespace in (None, self) and name.startswith("time_"):
            # Textual calls `action_*` and `check_action` on any object it is given
            default_namespace = self.time  # type: ignore[assignment]
        return await super().run_action(action, default_namespace, namespaces)

    # --- the navigator: screens ask the app to open screens and dialogs ----------------------

    def show_detail(self, key: ObjectKey, mode: str) -> None:
        """Open the YAML or describe view of one object."""
        self.push_screen(DetailScreen(self.ctx, key, mode))

    def show_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Open the log pane of a pod."""
        self.push_screen(LogsScreen(self.ctx, key, container))

    def show_history(self, key: ObjectKey) -> None:
        """The versions of one object."""
        self.push_screen(HistoryScreen(self.ctx, key))

    def show_diff(
        self,
        key: ObjectKey,
        against: str = "previous",
        t1: int | None = None,
        t2: int | None = None,
    ) -> None:
        """One object's diff (against its previous version, live, a bookmark, or t1..t2)."""
        self.push_screen(DiffScreen(self.ctx, key, against, t1, t2))

    def show_changes(self, t1: int, t2: int, origin: str = "") -> None:
        """What changed between two moments."""
        self.push_screen(ChangesScreen(self.ctx, t1, t2, origin))

    def show_bookmarks(self) -> None:
        """The bookmark list."""
        self.push_screen(BookmarksScreen(self.ctx))

    def ask_text(
        self,
        title: str,
        check: Callable[[str], Any],
        done: Callable[[Any], None],
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
    ) -> None:
        """A one-line dialog (keys typed while it opens are kept for it)."""
        self.expect_typing()
        prompt = TextPrompt(title, check, value, placeholder=placeholder, hint=hint)
        self.push_screen(prompt, done)

    def ask_bookmark(
        self,
        when: str,
        target: str | None,
        on_object: bool,
        done: Callable[[tuple[str, bool] | None], None],
    ) -> None:
        """The bookmark dialog."""
        self.expect_typing()
        self.push_screen(BookmarkPrompt(when, target, on_object), done)

    def quit(self) -> None:
        """Leave khronoscope."""
        self.exit()

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
            self.push_screen(HelpScreen(self.settings.keymap))

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
        self.expect_typing()
        self.push_screen(ExportScreen(self.ctx, self.playback.t, scope))

    def _open_command_line(self, text: str) -> None:
        self._to_browser()
        self.browser.query_one(CommandLine).open(":", text)

    def action_drift(self) -> None:
        """`:drift DIR` on the command line (the last directory compared, ready to edit)."""
        self._to_browser()
        self.browser.query_one(CommandLine).open(":", f"drift {self._drift_repo}".rstrip() + " ")

    # --- `:` commands (the catalogue is commands.COMMANDS) ----------------------------------

    def command_handlers(self) -> dict[str, Callable[[Invocation], None]]:
        """The handler of every command of the catalogue, by name (a test checks none is
        missing). The parser has read the arguments: a handler only acts."""
        tc = self.time
        return {
            "view": lambda inv: self.browser.show_view(inv),
            "quit": lambda inv: self.exit(),
            "help": lambda inv: self.action_help(),
            "aliases": lambda inv: self.show_aliases(),
            "ctx": lambda inv: self.show_contexts(inv.text or None),
            "xray": self.show_xray,
            "related": lambda inv: tc.action_time_related(),
            "drift": self._drift,
            "export": lambda inv: self.action_export(),
            "goto": lambda inv: tc.go(inv.text),
            "live": lambda inv: tc.action_time_live(),
            "start": lambda inv: tc.action_time_start(),
            "end": lambda inv: tc.go("end"),
            "pause": lambda inv: tc.pause(),
            "play": lambda inv: tc.play(inv.speed),
            "interval": lambda inv: tc.set_jump_interval(inv.interval),
            "trouble": lambda inv: tc.action_time_trouble(inv.direction),
            "mark": lambda inv: tc.action_time_bookmark(inv.text if inv.args else None),
            "bookmarks": lambda inv: tc.action_time_bookmarks(),
            "changes": lambda inv: tc.changes_between(*inv.times),
            "history": lambda inv: tc.action_time_history(),
            "diff": lambda inv: tc.action_time_diff(),
        }

    def run_command(self, text: str) -> None:
        """Run a `:` command line; errors become one line, never an exception."""
        if not text.strip():
            return
        try:
            inv = parse_command(text, self.browser.aliases())
            self.command_handlers()[inv.name](inv)
        except (CommandError, TimeParseError) as err:
            self.notify(str(err), title="command", severity="error")

    def show_aliases(self) -> None:
        """`:aliases`: every name a type answers to."""
        from khronoscope.tui.aliases import user_aliases_file
        from khronoscope.tui.screens.aliases import AliasesScreen

        path = self.settings.aliases.path or str(user_aliases_file())
        self._to_browser()
        self.push_screen(AliasesScreen(self.ctx, self.browser.aliases(), path))

    def show_contexts(self, name: str | None = None) -> None:
        """`:ctx` lists the kubeconfig's contexts (read now); `:ctx NAME` switches."""
        from khronoscope.tui.screens.contexts import ContextsScreen

        source = context_lister(self.source)
        if source is None:
            ctx = self.source.info.context or self.source.info.cluster
            raise CommandError(f"a recording has one context: {ctx} (:ctx switches live only)")
        try:
            contexts = source.contexts()
        except KhronoscopeError as err:
            raise CommandError(str(err)) from None
        if name is not None:
            self.switch_context(name, contexts)
            return
        self._to_browser()
        self.push_screen(ContextsScreen(contexts, lambda n: self.switch_context(n, contexts)))

    def switch_context(self, name: str, contexts: list[ContextInfo]) -> None:
        """Leave the app asking the caller to restart the session on context `name`."""
        names = [c.name for c in contexts]
        if name not in names:
            raise CommandError(f"no context {name!r} (available: {', '.join(names) or 'none'})")
        if any(c.current and c.name == name for c in contexts):
            self.notify(f"already on context {name}", timeout=3)
            return
        self.exit(ContextSwitch(name))

    def show_xray(self, inv: Invocation) -> None:
        """`:xray TYPE [NS]`: the owner tree at t (NS default: the browser's namespace)."""
        from khronoscope.tui.screens.xray import XrayScreen

        namespace = inv.namespace
        if namespace is None and not inv.all_namespaces:
            namespace = self.browser.view.namespace
        self._to_browser()
        self.push_screen(XrayScreen(self.ctx, inv.type_name, namespace))

    def show_related(self, key: ObjectKey) -> None:
        """Owners, children and Events over time of `key`."""
        from khronoscope.tui.screens.related import RelatedScreen

        self.push_screen(RelatedScreen(self.ctx, key))

    def _drift(self, inv: Invocation) -> None:
        from khronoscope.tui.screens.drift import DriftScreen

        assert inv.drift is not None  # the parser reads it for :drift
        self._drift_repo = inv.drift.repo
        self._to_browser()
        self.push_screen(DriftScreen(self.ctx, inv.drift))

    # --- command palette ---------------------------------------------------------------------

    def palette_entries(self, screen: Screen) -> Iterable[PaletteEntry]:
        """Every action of the keymap active on `screen`, then every `:` command (the palette's
        own provider, tui/palette.py, matches them by name, alias, key and description)."""
        context = keymap_context(screen)
        scopes = CONTEXTS[context] if context is not None else ("app",)
        nodes: dict[str, object] = {scope: screen for scope in scopes}
        nodes["app"] = self
        if TIME_SCOPE in scopes:
            nodes[TIME_SCOPE] = self.time
        lists = screen.query(VirtualList)
        if lists:
            nodes["list"] = lists.first()
        else:
            nodes.pop("list", None)
        if isinstance(screen, BrowserScreen):
            nodes["table"] = screen.query_one(ResourceTable)
        keymap = self.settings.keymap
        for a in ACTIONS:
            if a.scope not in scopes or a.id == "app.palette" or a.scope not in nodes:
                continue
            run = partial(self.run_action, a.action, nodes[a.scope])  # type: ignore[arg-type]
            yield action_entry(a, keymap, run)
        # every `:` command too: one that needs arguments opens the command line for them
        for spec in COMMANDS:
            if spec is VIEW:
                continue
            head = spec.usage.split(" ", 1)[0]
            if spec.takes_args:
                yield command_entry(spec, partial(self._open_command_line, head + " "))
            else:
                yield command_entry(spec, partial(self.run_command, head))


def create_app(source: HistorySource, settings: BrowserSettings | None = None) -> KhronoscopeApp:
    """The browser over `source` (the one factory used by the CLI, the tests and the bench)."""
    return KhronoscopeApp(source, replay_settings(source, settings or BrowserSettings()))
