"""The time control: the playback cursor and every time command (go to, step, play, jump, zoom,
bookmarks, history, diff, what changed), one object owned by the app and handed to each screen
in its context, so every screen that shows a moment shares one cursor and one set of keys.

Its `action_time_*` methods are the actions of the keymap's `time` scope (bound on the app,
enabled only on the screens that show a moment, see screenkind.py); the `:` time commands call
its plain methods. The moves themselves are computed in `travel.py` and `trouble.py` (no
Textual); this object turns them into cursor moves, dialogs and one-line messages on the
timeline (never a pile of toasts while a key is held down).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from khronoscope.core.source import Bookmark, HistorySource
from khronoscope.core.timefmt import NS, TimeParseError, format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.printers.objdiff import meaningful_paths
from khronoscope.temporal.map import ChangeRef
from khronoscope.tui.navigator import Navigator
from khronoscope.tui.playback import SPEEDS, PlaybackCursor, speed_label
from khronoscope.tui.screenkind import keymap_context, shows_moment
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.travel import (
    ZOOMS,
    StepScope,
    Target,
    changes_at,
    format_interval,
    next_bookmark,
    next_interval,
    next_step,
    parse_target,
    previous_bookmark,
    previous_step,
    zoom_in,
    zoom_out,
)
from khronoscope.tui.trouble import TROUBLE_TYPES, TroubleScope, next_trouble, previous_trouble

GOTO_HINT = (
    "14:32 · 14:32:05 (the cursor's day) · -15m, +30s (from the cursor) · "
    "2026-03-14T09:01:00Z · start · end · now · a bookmark's label"
)


@dataclass(frozen=True)
class InView:
    """What a screen that shows a moment has in view, for the time keys and its timeline:
    which changes a step counts, where trouble is looked for, a short label, the object the
    user is on, and (the table) how to select the row a step landed on."""

    step: StepScope
    trouble: TroubleScope
    label: str
    selected: ObjectKey | None = None
    about_object: bool = True  # a bookmark made here is on `selected` by default
    select: Callable[[ObjectKey], None] | None = None

    @staticmethod
    def of_object(key: ObjectKey | None) -> InView:
        """A screen about one object (None: nothing selected, so everything is in view)."""
        if key is None:
            return InView(StepScope(), TroubleScope(TROUBLE_TYPES), "everything")
        return InView(StepScope(key=key), TroubleScope(key=key), key.name, key)


@runtime_checkable
class ShowsMoment(Protocol):
    """A screen that shows a moment: what it has in view."""

    def in_view(self) -> InView:
        """What the time keys act on here."""
        ...


class Pausable(Protocol):
    """The play timer (a Textual Timer)."""

    def pause(self) -> None:
        """Stop ticking."""

    def resume(self) -> None:
        """Tick again."""


class TimeControl:
    """The playback cursor and the time commands over one source.

    `current()` gives the screen on top (what "in view" means); `nav` opens the dialogs and
    screens a time command leads to. `listeners` are told when the message or the timeline's
    zoom changed (the cursor's own listeners are told when it moved).
    """

    def __init__(
        self,
        playback: PlaybackCursor,
        source: HistorySource,
        settings: BrowserSettings,
        nav: Navigator,
        current: Callable[[], object],
    ) -> None:
        self.playback = playback
        self.source = source
        self.settings = settings
        self.nav = nav
        self._current = current
        self.jump_interval: int = 60 * NS
        self.timeline_zoom: int | None = None  # span the timeline shows around the cursor
        self.message = ""
        self.listeners: list[Callable[[], None]] = []
        # the playback state (mode, speed) the message describes; None: not a state message
        self._said_state: tuple[object, float] | None = None
        self._timer: Pausable | None = None
        playback.listeners.append(self._playback_state)

    # --- plumbing ----------------------------------------------------------------------------

    def attach_timer(self, timer: Pausable) -> None:
        """The timer that calls `tick` while playing (the app makes it once mounted)."""
        self._timer = timer
        if self.playback.playing:
            timer.resume()

    def tick(self) -> None:
        """Move the cursor while playing (the play timer calls this)."""
        if not self.playback.advance() and self._timer is not None:
            self._timer.pause()

    def _playback_state(self) -> None:
        if self._timer is not None and self.playback.playing:
            self._timer.resume()
        # playing into now turns live and rewinding to the start pauses: "playing at 64x"
        # next to LIVE, or "rewinding" next to PAUSED, would be stale
        p = self.playback
        if self._said_state is not None and self._said_state != (p.mode, p.speed):
            self._say_state()

    def enabled(self, screen: object | None = None) -> bool:
        """True when `screen` (default: the top one) shows a moment: the time keys work."""
        return shows_moment(self._current() if screen is None else screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Textual asks before running an action here (from the palette): only where a
        moment is shown."""
        return self.enabled()

    def in_view(self, screen: object | None = None) -> InView:
        """What is in view on `screen` (default: the top one)."""
        screen = self._current() if screen is None else screen
        return screen.in_view() if isinstance(screen, ShowsMoment) else InView.of_object(None)

    def selected_key(self) -> ObjectKey | None:
        """The object the user is on (the table's selection, or the object a screen shows)."""
        return self.in_view().selected

    def say(self, text: str) -> None:
        """A one-line message on the timeline (replaces the previous one)."""
        self.message = text
        self._said_state = None
        self._changed()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def clock(self, t: int, date: bool = True) -> str:
        """t as the user reads it (in the configured time zone)."""
        text = format_clock(t, self.settings.tz, millis=t % NS != 0)
        return text if date else text[11:]

    # --- moving ------------------------------------------------------------------------------

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
            self.say(f"{why}: {self.clock(t, date=False)}{note}")
        elif note:
            self.say(f"{self.clock(t, date=False)}{note}")

    def parse_target(self, text: str) -> Target:
        """A typed time (see travel.parse_target), relative to the cursor."""
        first, last = self.playback.bounds()
        return parse_target(
            text, self.playback.t, first, last, self.settings.tz, self.source.bookmarks()
        )

    def go_target(self, target: Target) -> None:
        """Go where a typed time points."""
        if target.live:
            self.action_time_live()
        elif target.t is not None:
            self.seek_to(target.t, why=target.what)

    def go(self, text: str) -> None:
        """Go to a typed time (`:goto`); TimeParseError with one line when it is not one."""
        self.go_target(self.parse_target(text))

    # --- playing -----------------------------------------------------------------------------

    def action_time_play(self) -> None:
        """Space: pause (live or playing), or play from the moment shown."""
        self.playback.toggle()
        self._say_state()

    def play(self, speed: float) -> None:
        """Play at `speed` (negative rewinds)."""
        self.playback.play(speed)
        self._say_state()

    def pause(self) -> None:
        """Stay at the moment shown."""
        self.playback.pause()
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
            self.say(f"paused at {self.clock(p.t, date=False)}{note} (space plays)")
        self._said_state = (p.mode, p.speed)

    # --- steps and jumps ---------------------------------------------------------------------

    def action_time_step(self, direction: int) -> None:
        """`[` `]`: the previous/next change of what is in view."""
        view = self.in_view()
        self._step(view.step, view.label, direction, view.select)

    def action_time_step_object(self, direction: int) -> None:
        """`{` `}`: the previous/next change of the selected object."""
        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        label = f"{key.type.split('.', 1)[0]} {key.name}"
        self._step(StepScope(key=key), label, direction, None)

    def _step(
        self,
        scope: StepScope,
        label: str,
        direction: int,
        select: Callable[[ObjectKey], None] | None,
    ) -> None:
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
        if scope.key is None and refs and select is not None:
            select(refs[0].key)  # the row that changed: its `{` `}` then follow it

    def _describe(self, t: int, refs: list[ChangeRef], scope: StepScope) -> str:
        when = self.clock(t, date=False)
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

    def action_time_trouble(self, direction: int) -> None:
        """`x` `X`: the next/previous moment something went wrong in view (a pod not Ready or
        crash-looping, a node NotReady, a Warning event, a workload short of ready replicas)."""
        view = self.in_view()
        scope = view.trouble
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
        self.say(f"{self.clock(found.t, date=False)} {found.what}: {kind} {name}")
        if view.select is not None:
            view.select(key)

    def action_time_jump(self, direction: int) -> None:
        """`-` `+`: jump back/forward by the interval (playing goes on from there)."""
        t = self.playback.t + direction * self.jump_interval
        sign = "+" if direction > 0 else "-"
        self.seek_to(t, keep_playing=True, why=f"{sign}{format_interval(self.jump_interval)}")

    def action_time_interval(self) -> None:
        """`i`: the next jump interval (10s, 1m, 10m, 1h)."""
        self.set_jump_interval(next_interval(self.jump_interval))

    def set_jump_interval(self, interval: int) -> None:
        """What `-` and `+` jump by (ns)."""
        self.jump_interval = interval
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

    def action_time_zoom_out(self) -> None:
        """`Z`: the timeline shows a wider span, up to the whole record."""
        self.timeline_zoom = zoom_out(self.timeline_zoom, self._recorded_span())
        zoom = self.timeline_zoom
        self.say(
            f"timeline: {format_interval(zoom)} around the cursor" if zoom else "timeline: all"
        )

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

        title = f"Go to a time (now at {self.clock(self.playback.t)})"
        self.nav.ask_text(title, check, done, placeholder="14:32", hint=GOTO_HINT)

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

    # --- bookmarks ---------------------------------------------------------------------------

    def action_time_bookmark(self, label: str | None = None) -> None:
        """`m`: bookmark the moment shown (optionally on the selected object); with a label
        (`:mark LABEL`) straight away."""
        if self.playback.live:
            self.playback.pause()  # the bookmark is of the moment the user saw
        t = self.playback.t
        if label is not None:
            self.add_bookmark(t, label, None)
            return
        view = self.in_view()
        key = view.selected

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                text, on_object = answer
                self.add_bookmark(t, text, key if on_object else None)

        target = None
        if key is not None:
            target = f"{key.type.split('.', 1)[0]} {key.namespace + '/' if key.namespace else ''}"
            target += key.name
        self.nav.ask_bookmark(self.clock(t), target, view.about_object, done)

    def add_bookmark(self, t: int, label: str, key: ObjectKey | None) -> Bookmark | None:
        """Store a bookmark in the source (one line on failure, never an exception)."""
        label = label.strip() or format_clock(t, self.settings.tz)[11:]
        try:
            b = self.source.add_bookmark(Bookmark(t, label, key))
        except KhronoscopeError as err:
            self.nav.notify(str(err), title="bookmark", severity="error")
            return None
        self.say(f"bookmarked {b.label!r} at {self.clock(t, date=False)}")
        return b

    def action_time_bookmarks(self) -> None:
        """`'`: the bookmark list."""
        self.nav.show_bookmarks()

    def action_time_bookmark_step(self, direction: int) -> None:
        """`(` `)`: the previous/next bookmark."""
        marks = self.source.bookmarks()
        t = self.playback.t
        b = next_bookmark(marks, t) if direction > 0 else previous_bookmark(marks, t)
        if b is None:
            self.say(f"no {'later' if direction > 0 else 'earlier'} bookmark")
            return
        self.seek_to(b.t, why=f"bookmark {b.label!r}")

    # --- history, diff, what changed, related ------------------------------------------------

    def action_time_history(self) -> None:
        """`H`: the versions of the selected object."""
        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        self.nav.show_history(key)

    def action_time_diff(self) -> None:
        """`D`: the selected object at the cursor against its previous version."""
        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        if keymap_context(self._current()) == "diff":
            return  # already there
        self.nav.show_diff(key)

    def action_time_changes(self) -> None:
        """`W`: what changed from the last bookmark before the cursor (else one jump interval
        back) to the cursor."""
        self.changes(None, None)

    def changes(self, t1: int | None, t2: int | None) -> None:
        """What changed from t1 (None: the last bookmark before the cursor, else one jump
        interval back) to t2 (None: the cursor)."""
        t = self.playback.t
        origin = ""
        if t1 is None:
            b = previous_bookmark(self.source.bookmarks(), t)
            if b is not None:
                t1, origin = b.t, f"bookmark {b.label!r}"
            else:
                t1 = t - self.jump_interval
                origin = f"{format_interval(self.jump_interval)} before the cursor (no bookmark)"
        self.nav.show_changes(t1, t if t2 is None else t2, origin)

    def changes_between(self, start: str | None, end: str | None) -> None:
        """`:changes [FROM [TO]]`: typed times (`now`: the clock's now)."""
        t1 = t2 = None
        if start is not None:
            t1 = self.parse_target(start).t
            if t1 is None:
                t1 = self.playback.clock()
        if end is not None:
            t2 = self.parse_target(end).t
            if t2 is None:
                t2 = self.playback.clock()
        self.changes(t1, t2)

    def action_time_related(self) -> None:
        """`r`: the selected object's owners, children and Events over time."""
        key = self.selected_key()
        if key is None:
            self.say("select an object first")
            return
        self.nav.show_related(key)
