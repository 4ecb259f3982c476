"""The time-travel actions of the app (keymap scope `time`) and the `:` time commands.

Bound on the app and enabled only on the screens that show a moment (the browser, YAML and
describe, history, diff), so every such screen shares one cursor and one set of keys. The
moves themselves are computed in `travel.py` (no Textual); this mixin turns them into cursor
moves, dialogs and one-line messages on the timeline (never a pile of toasts while a key is
held down).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import NS, TimeParseError, format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.printers.objdiff import meaningful_paths
from khronoscope.tui.playback import SPEEDS, speed_label
from khronoscope.tui.screens.bookmarks import BookmarksScreen
from khronoscope.tui.screens.browser import BrowserScreen
from khronoscope.tui.screens.changes import ChangesScreen
from khronoscope.tui.screens.detail import DetailScreen
from khronoscope.tui.screens.diff import DiffScreen
from khronoscope.tui.screens.history import HistoryScreen
from khronoscope.tui.screens.prompt import BookmarkPrompt, TextPrompt
from khronoscope.tui.travel import (
    ZOOMS,
    StepScope,
    Target,
    changes_at,
    format_interval,
    next_bookmark,
    next_interval,
    next_step,
    parse_interval,
    parse_target,
    previous_bookmark,
    previous_step,
    zoom_in,
    zoom_out,
)
from khronoscope.tui.trouble import (
    TROUBLE_TYPES,
    TroubleScope,
    next_trouble,
    previous_trouble,
)
from khronoscope.tui.widgets.table import ResourceTable
from khronoscope.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from textual.screen import Screen

    from khronoscope.core.source import HistorySource
    from khronoscope.tui.playback import PlaybackCursor
    from khronoscope.tui.settings import BrowserSettings

GOTO_HINT = (
    "14:32 · 14:32:05 (the cursor's day) · -15m, +30s (from the cursor) · "
    "2026-03-14T09:01:00Z · start · end · now · a bookmark's label"
)


class TimeControls:
    """Mixin for the app: `playback`, `source` and `settings` come from it."""

    playback: PlaybackCursor
    source: HistorySource
    settings: BrowserSettings
    jump_interval: int = 60 * NS
    timeline_zoom: int | None = None  # span the timeline shows around the cursor; None: all
    time_message: str = ""
    # the playback state (mode, speed) the message describes; None: not a state message
    _said_state: tuple[object, float] | None = None

    # --- plumbing ----------------------------------------------------------------------------

    def time_setup(self) -> None:
        """Start the playback timer (the app's on_mount calls this)."""
        app: Any = self
        self._play_timer = app.set_interval(1 / 20, self._play_tick, pause=True)
        self.playback.listeners.append(self._playback_state)

    def _play_tick(self) -> None:
        if not self.playback.advance():
            self._play_timer.pause()

    def _playback_state(self) -> None:
        timer = getattr(self, "_play_timer", None)
        if timer is not None and self.playback.playing:
            timer.resume()
        # playing into now turns live and rewinding to the start pauses: "playing at 64x"
        # next to LIVE, or "rewinding" next to PAUSED, would be stale
        p = self.playback
        if self._said_state is not None and self._said_state != (p.mode, p.speed):
            self._say_state()

    def time_screen(self, screen: Screen[Any] | None = None) -> bool:
        """True when `screen` (default: the top one) shows a moment."""

        app: Any = self
        screen = screen if screen is not None else app.screen
        return isinstance(screen, BrowserScreen | DetailScreen) or bool(
            getattr(screen, "TIME_CONTROLS", False)
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Time actions only where a moment is shown (hidden from the footer elsewhere)."""
        if action.startswith("time_") and not self.time_screen():
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]

    def selected_key(self, screen: Screen[Any] | None = None) -> ObjectKey | None:
        """The object the user is on: the table's selection, or the object a screen shows."""

        app: Any = self
        screen = screen if screen is not None else app.screen
        key = getattr(screen, "key", None)
        if isinstance(key, ObjectKey):
            return key
        if isinstance(screen, BrowserScreen):
            return screen.query_one(ResourceTable).selected
        return None

    def view_scope(self, screen: Screen[Any] | None = None) -> tuple[StepScope, str]:
        """What "in view" means on `screen`: the browser's type, namespace and filter, or the
        one object a screen shows; with a short label for the timeline."""

        app: Any = self
        screen = screen if screen is not None else app.screen
        if isinstance(screen, BrowserScreen):
            view = screen.view
            rt = self.source.resource_types().get(view.type_name)
            tmap = self.source.tmap
            namespaced = rt.namespaced if rt is not None else any(tmap.namespaces(view.type_name))
            ns = view.namespace if namespaced else None
            flt = screen.model.filter if screen.model is not None else view.filter
            match = flt.matches if flt.active else None
            label = view.type_name.split(".", 1)[0] + (f" in {ns}" if ns else "")
            if view.filter.active:
                label += f" /{view.filter.label}"
            return StepScope(view.type_name, ns, None, match, view.filter.needs_row), label
        key = self.selected_key(screen)
        if key is not None:
            return StepScope(key=key), key.name
        return StepScope(), "everything"

    def say(self, text: str) -> None:
        """A one-line message on the timeline (replaces the previous one)."""
        self.time_message = text
        self._said_state = None
        app: Any = self

        for timeline in app.screen.query(Timeline):
            timeline.refresh()

    def _clock(self, t: int, date: bool = True) -> str:
        text = format_clock(t, self.settings.tz, millis=t % NS != 0)
        return text if date else text[11:]

    def seek_to(self, t: int, keep_playing: bool = False, why: str = "") -> None:
        """Move the cursor to t: into now or beyond turns live (when there is a cluster);
        before the record's start stops at the start, after a recording's end at its end."""
        playback = self.playback
        if playback.live_available and t >= playback.clock():
            playback.go_live()
            self.say("live")
            return
        first, last = playback.bounds()
        note = ""
        if first is not None and t < first:
            t, note = first, " (the record starts there)"
        elif not playback.live_available and last is not None and t > last:
            t, note = last, " (the record ends there)"
        playback.seek(t, keep_playing=keep_playing)
        if why:
            self.say(f"{why}: {self._clock(t, date=False)}{note}")
        elif note:
            self.say(f"{self._clock(t, date=False)}{note}")

    def go_target(self, target: Target) -> None:
        """Go where a typed time points."""
        if target.live:
            self.action_time_live()
        elif target.t is not None:
            self.seek_to(target.t, why=target.what)

    def parse_target(self, text: str) -> Target:
        """A typed time (see travel.parse_target), relative to the cursor."""
        first, last = self.playback.bounds()
        return parse_target(
            text, self.playback.t, first, last, self.settings.tz, self.source.bookmarks()
        )

    # --- actions: playing --------------------------------------------------------------------

    def action_time_play(self) -> None:
        """Space: pause (live or playing), or play from the moment shown."""
        self.playback.toggle()
        self._say_state()

    def action_time_slower(self) -> None:
        """`<`: slower forward, then pause, then rewind faster."""
        if not self.playback.slower():
            self.say(f"rewinding as fast as it goes ({speed_label(-SPEEDS[-1])})")
            return
        self._say_state()

    def action_time_faster(self) -> None:
        """`>`: slower rewind, then pause, then forward faster."""
        if self.playback.live:
            self.say("live: nothing is ahead of now (space pauses, < rewinds)")
            return
        if not self.playback.faster():
            self.say(f"playing as fast as it goes ({speed_label(SPEEDS[-1])})")
            return
        self._say_state()

    def _say_state(self) -> None:
        p = self.playback
        if p.playing:
            what = "playing" if p.speed > 0 else "rewinding"
            self.say(f"{what} at {speed_label(abs(p.speed))}")
        elif p.live:
            self.say("live")
        else:
            first, last = p.bounds()
            edge = {first: " (the record starts there)", last: " (the record ends there)"}
            note = edge.get(p.t, "")
            self.say(f"paused at {self._clock(p.t, date=False)}{note} (space plays)")
        self._said_state = (p.mode, p.speed)

    # --- actions: steps and jumps ------------------------------------------------------------

    def action_time_step(self, direction: int) -> None:
        """`[` `]`: the previous/next change of what is in view."""
        scope, label = self.view_scope()
        self._step(scope, label, direction)

    def action_time_step_object(self, direction: int) -> None:
        """`{` `}`: the previous/next change of the selected object."""
        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        self._step(StepScope(key=key), f"{key.type.split('.', 1)[0]} {key.name}", direction)

    def _step(self, scope: StepScope, label: str, direction: int) -> None:
        tmap = self.source.tmap
        t = self.playback.t
        target = next_step(tmap, t, scope) if direction > 0 else previous_step(tmap, t, scope)
        if target is None:
            if direction > 0 and self.playback.live_available and not self.playback.live:
                self.say(f"no later change of {label}: L goes live")
            else:
                self.say(f"no {'later' if direction > 0 else 'earlier'} change of {label}")
            return
        self.playback.seek(target)
        refs = changes_at(tmap, target, scope, limit=20)
        self.say(self._describe(target, refs, scope))
        if scope.key is None:
            self._select_changed([r.key for r in refs])

    def _describe(self, t: int, refs: list[Any], scope: StepScope) -> str:
        when = self._clock(t, date=False)
        if not refs:
            return when
        first = refs[0]
        key = first.key
        name = f"{key.namespace}/{key.name}" if key.namespace else key.name
        text = f"{when} {first.kind.name} {key.type.split('.', 1)[0]} {name}"
        if scope.key is not None and first.kind.name == "MODIFIED":
            tmap = self.source.tmap
            before, after = tmap.get(key, t - 1), tmap.get(key, t)
            if before is not None and after is not None:
                paths = meaningful_paths(key, before, after)
                if paths:
                    text += ": " + ", ".join(paths[:3]) + (" …" if len(paths) > 3 else "")
        if len(refs) > 1:
            more = f"{len(refs) - 1}+" if len(refs) >= 20 else str(len(refs) - 1)
            text += f" (+{more} more)"
        return text

    def _select_changed(self, keys: list[ObjectKey]) -> None:
        """After a step in the table, select the row that changed (its `{` `}` then follow it)."""

        app: Any = self
        screen = app.screen
        if not isinstance(screen, BrowserScreen) or not keys:
            return
        table = screen.query_one(ResourceTable)
        screen.tick()  # bring the table to t now, so the changed row is there to select
        model = table.model
        if model is not None and keys[0] in model.rows:
            table.select(keys[0])

    def trouble_scope(self, screen: Screen[Any] | None = None) -> TroubleScope:
        """Where "something went wrong in view" is looked for on `screen`."""
        app: Any = self
        screen = screen if screen is not None else app.screen
        if isinstance(screen, BrowserScreen):
            scope = self.view_scope(screen)[0]
            return TroubleScope.for_view(scope.type or "pods", scope.namespace, scope.match)  # type: ignore[arg-type]
        key = self.selected_key(screen)
        if key is not None:
            return TroubleScope(key=key)
        return TroubleScope(TROUBLE_TYPES)

    def action_time_trouble(self, direction: int) -> None:
        """`x` `X`: the next/previous moment something went wrong in view (a pod not Ready or
        crash-looping, a node NotReady, a Warning event, a workload short of ready replicas)."""
        scope = self.trouble_scope()
        tmap = self.source.tmap
        t = self.playback.t
        found = next_trouble(tmap, t, scope) if direction > 0 else previous_trouble(tmap, t, scope)
        if found is None:
            later = "later" if direction > 0 else "earlier"
            self.say(f"no {later} trouble in {scope.label()}")
            return
        self.playback.seek(found.t)
        key = found.key
        name = f"{key.namespace}/{key.name}" if key.namespace else key.name
        rt = self.source.resource_types().get(key.type)
        kind = rt.kind.lower() if rt is not None else key.type.split(".", 1)[0]
        self.say(f"{self._clock(found.t, date=False)} {found.what}: {kind} {name}")
        self._select_changed([key])

    def action_time_jump(self, direction: int) -> None:
        """`-` `+`: jump back/forward by the interval (playing goes on from there)."""
        t = self.playback.t + direction * self.jump_interval
        sign = "+" if direction > 0 else "-"
        self.seek_to(t, keep_playing=True, why=f"{sign}{format_interval(self.jump_interval)}")

    def action_time_interval(self) -> None:
        """`i`: the next jump interval (10s, 1m, 10m, 1h)."""
        self.jump_interval = next_interval(self.jump_interval)
        self.say(f"- and + jump {format_interval(self.jump_interval)}")

    def _recorded_span(self) -> int:
        first, last = self.playback.bounds()
        if self.playback.live_available:
            last = self.playback.clock()
        if first is None or last is None:
            return 0
        return max(last - first, 1)

    def action_time_zoom_in(self) -> None:
        """`z`: the timeline shows a narrower span around the cursor (1d, 6h, 1h, 10m, 1m)."""
        zoom = zoom_in(self.timeline_zoom, self._recorded_span())
        if zoom == self.timeline_zoom:
            if zoom is None:
                self.say(f"timeline: the record is shorter than {format_interval(ZOOMS[0])}")
            else:
                self.say(f"timeline: {format_interval(zoom)} is the closest zoom")
            return
        self.timeline_zoom = zoom
        self.say(f"timeline: {format_interval(zoom or 0)} around the cursor (Z zooms out)")
        self.refresh_timeline()

    def action_time_zoom_out(self) -> None:
        """`Z`: the timeline shows a wider span, up to the whole record."""
        self.timeline_zoom = zoom_out(self.timeline_zoom, self._recorded_span())
        zoom = self.timeline_zoom
        self.say(
            f"timeline: {format_interval(zoom)} around the cursor" if zoom else "timeline: all"
        )
        self.refresh_timeline()

    def refresh_timeline(self) -> None:
        """Redraw the timeline strips on screen (their span changed)."""
        app: Any = self
        for timeline in app.screen.query(Timeline):
            timeline.refresh()

    def action_time_goto(self) -> None:
        """`t`: go to a typed time (a bad time is reported in the dialog)."""

        def check(text: str) -> Target:
            try:
                return self.parse_target(text)
            except TimeParseError as err:
                raise ValueError(str(err)) from None

        def done(target: Target | None) -> None:
            if target is not None:
                self.go_target(target)

        app: Any = self
        title = f"Go to a time (now at {self._clock(self.playback.t)})"
        app.expect_typing()
        app.push_screen(TextPrompt(title, check, placeholder="14:32", hint=GOTO_HINT), done)

    def action_time_live(self) -> None:
        """`L`: follow now again (a recording: go to its end)."""
        if self.playback.go_live():
            self.say("live")
            return
        end = self.playback.bounds()[1]
        if end is not None:
            self.playback.seek(end)
        self.say("a recording has no live: at its end")

    def action_time_start(self) -> None:
        """The first moment of the record."""
        first = self.playback.bounds()[0]
        if first is None:
            self.say("nothing recorded yet")
            return
        self.seek_to(first, why="start of the record")

    # --- actions: bookmarks ------------------------------------------------------------------

    def action_time_bookmark(self, label: str | None = None) -> None:
        """`m`: bookmark the moment shown (optionally on the selected object)."""

        app: Any = self
        t = self.playback.t
        if self.playback.live:
            self.playback.pause()  # the bookmark is of the moment the user saw
            t = self.playback.t
        key = self.selected_key()

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                text, on_object = answer
                self.add_bookmark(t, text, key if on_object else None)

        if label is not None:
            self.add_bookmark(t, label, None)
            return
        target = None
        if key is not None:
            target = f"{key.type.split('.', 1)[0]} {key.namespace + '/' if key.namespace else ''}"
            target += key.name
        on_object = not isinstance(app.screen, BrowserScreen)
        app.expect_typing()
        app.push_screen(BookmarkPrompt(self._clock(t), target, on_object), done)

    def add_bookmark(self, t: int, label: str, key: ObjectKey | None) -> Bookmark | None:
        """Store a bookmark in the source (one line on failure, never an exception)."""
        label = label.strip() or format_clock(t, self.settings.tz)[11:]
        try:
            b = self.source.add_bookmark(Bookmark(t, label, key))
        except KhronoscopeError as err:
            app: Any = self
            app.notify(str(err), title="bookmark", severity="error")
            return None
        self.say(f"bookmarked {b.label!r} at {self._clock(t, date=False)}")
        return b

    def action_time_bookmarks(self) -> None:
        """`'`: the bookmark list."""

        app: Any = self
        app.push_screen(BookmarksScreen())

    def action_time_bookmark_step(self, direction: int) -> None:
        """`(` `)`: the previous/next bookmark."""
        marks = self.source.bookmarks()
        t = self.playback.t
        b = next_bookmark(marks, t) if direction > 0 else previous_bookmark(marks, t)
        if b is None:
            self.say(f"no {'later' if direction > 0 else 'earlier'} bookmark")
            return
        self.seek_to(b.t, why=f"bookmark {b.label!r}")

    # --- actions: history, diff, what changed ------------------------------------------------

    def action_time_history(self) -> None:
        """`H`: the versions of the selected object."""

        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        app: Any = self
        app.push_screen(HistoryScreen(key))

    def action_time_diff(self) -> None:
        """`D`: the selected object at the cursor against its previous version."""

        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        app: Any = self
        if isinstance(app.screen, DiffScreen):
            return
        app.push_screen(DiffScreen(key))

    def action_time_changes(self, t1: int | None = None, t2: int | None = None) -> None:
        """`W`: what changed from the last bookmark before the cursor (else one jump interval
        back) to the cursor."""

        t = self.playback.t
        origin = ""
        if t1 is None:
            b = previous_bookmark(self.source.bookmarks(), t)
            if b is not None:
                t1, origin = b.t, f"bookmark {b.label!r}"
            else:
                t1 = t - self.jump_interval
                origin = f"{format_interval(self.jump_interval)} before the cursor (no bookmark)"
        app: Any = self
        app.push_screen(ChangesScreen(t1, t if t2 is None else t2, origin))

    # --- `:` commands (the grammar is in commands.py; these run them) ---------------------

    def time_command_handlers(self) -> dict[str, Callable[[tuple[str, ...]], None]]:
        """The handlers of the `time` group of `:` commands, by command name."""
        return {
            "goto": lambda args: self.go_target(self.parse_target(" ".join(args))),
            "live": lambda args: self.action_time_live(),
            "start": lambda args: self.action_time_start(),
            "end": lambda args: self.go_target(self.parse_target("end")),
            "pause": lambda args: self._pause(),
            "play": self._cmd_play,
            "interval": self._cmd_interval,
            "trouble": self._cmd_trouble,
            "mark": lambda args: self.action_time_bookmark(" ".join(args) if args else None),
            "bookmarks": lambda args: self.action_time_bookmarks(),
            "changes": self._cmd_changes,
            "history": lambda args: self.action_time_history(),
            "diff": lambda args: self.action_time_diff(),
        }

    def _pause(self) -> None:
        self.playback.pause()
        self._say_state()

    def _cmd_play(self, args: tuple[str, ...]) -> None:
        self.playback.play(1.0 if not args else _speed(args[0]))
        self._say_state()

    def _cmd_interval(self, args: tuple[str, ...]) -> None:
        self.jump_interval = parse_interval(args[0])
        self.say(f"- and + jump {format_interval(self.jump_interval)}")

    def _cmd_trouble(self, args: tuple[str, ...]) -> None:
        word = args[0].lower() if args else "next"
        if word not in ("next", "prev", "previous"):
            raise TimeParseError("use :trouble, :trouble next or :trouble prev")
        self.action_time_trouble(1 if word == "next" else -1)

    def _cmd_changes(self, args: tuple[str, ...]) -> None:
        t1 = self.parse_target(args[0]).t if args else None
        t2 = self.parse_target(args[1]).t if len(args) > 1 else None
        if args and t1 is None:
            t1 = self.playback.clock()
        if len(args) > 1 and t2 is None:
            t2 = self.playback.clock()
        self.action_time_changes(t1, t2)


def _speed(text: str) -> float:
    try:
        value = float(text.rstrip("xX"))
    except ValueError:
        raise TimeParseError(f"bad speed {text!r}: use 1, 4, 0.5, -2 (negative rewinds)") from None
    if value == 0 or not SPEEDS[0] <= abs(value) <= SPEEDS[-1]:
        low, high = SPEEDS[0], SPEEDS[-1]
        raise TimeParseError(f"speed must be between {low:g} and {high:g} (or negative)")
    return value
