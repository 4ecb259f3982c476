"""A recording in the app: its end is "now", history fills in the background (a v0.1 file), a
recording still written is followed.

What a source can do is what it declares (`SourceCapability`): the app never imports the
recording layer, and a live session (which declares none of these) is left alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from rich.text import Text
from textual.notifications import SeverityLevel
from textual.widgets import Static

from khronoscope.core.source import (
    FollowingSource,
    HistorySource,
    LoadingSource,
    RecordedSource,
    SourceCapability,
    recorded,
)
from khronoscope.core.timefmt import format_clock, now_ns
from khronoscope.tui.settings import BrowserSettings

if TYPE_CHECKING:
    from khronoscope.tui.context import ScreenContext
    from khronoscope.tui.screens.browser import BrowserScreen

POLL_INTERVAL = 0.5
"""Seconds between looks at a followed recording for blocks the recorder appended."""


def is_recording(source: HistorySource) -> bool:
    """True for a recording (it has its own range)."""
    return SourceCapability.RECORDED in source.capabilities


def follows(source: HistorySource) -> bool:
    """True for a recording still written, followed."""
    return SourceCapability.FOLLOWS in source.capabilities


def end_clock(source: Any) -> Any:
    """A clock whose "now" is the recording's newest moment (it moves while following)."""

    def clock() -> int:
        end = source.end_t
        return end if end is not None else now_ns()

    return clock


def replay_settings(source: HistorySource, settings: BrowserSettings) -> BrowserSettings:
    """Settings for a recording: now is its end, and the header says REPLAY (or FOLLOW)."""
    if not is_recording(source):
        return settings
    changes: dict[str, Any] = {}
    if settings.clock is now_ns:  # an injected clock (tests, snapshots) stays as given
        changes["clock"] = end_clock(source)
    if not settings.source_label:
        changes["source_label"] = "FOLLOW" if follows(source) else "REPLAY"
    return dataclasses.replace(settings, **changes) if changes else settings


class HistoryProgress(Static):
    """One line above the table while a recording's past is still loading."""

    DEFAULT_CSS = """
    HistoryProgress { height: 1; background: $boost; color: $text-muted; padding: 0 1; }
    """


class ReplayHost(Protocol):
    """What a replay needs of the app (the app is one): its context, the browser, and
    Textual's notifications, workers and timers."""

    ctx: ScreenContext

    @property
    def browser(self) -> BrowserScreen:
        """The browser screen."""
        ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A notification."""

    def run_worker(self, work: Any, name: str | None = "", group: str = "default") -> Any:
        """Run a coroutine as a worker."""

    def set_interval(self, interval: float, callback: Callable[[], object]) -> Any:
        """Call `callback` every `interval` seconds."""


def start_replay(app: ReplayHost) -> None:
    """On mount: report damage, load history in a worker, and poll a followed recording."""
    source = app.ctx.source
    if not is_recording(source):
        return
    recorded = cast(RecordedSource, source)
    damaged = [p for p in recorded.problems() if not p.lossless]
    if damaged:
        app.notify(
            f"damaged in {len(damaged)} places (shown as gaps); what cannot be read is reported "
            "once the history has loaded",
            title="damaged recording",
            severity="warning",
        )
    if SourceCapability.LOADS_HISTORY in source.capabilities:
        loading = cast(LoadingSource, source)
        if not loading.history_complete:
            app.run_worker(_load_history(app, loading), name="load history", group="replay")
    if follows(source):
        following = cast(FollowingSource, source)
        state = following.writer_state()
        if state.stopped:
            writer_stopped(app, state)  # stopped before the app opened it
        else:
            app.set_interval(POLL_INTERVAL, lambda: _poll(app, following))


async def _load_history(app: ReplayHost, source: LoadingSource) -> None:
    bar = HistoryProgress(_progress_text(app, source))
    await app.browser.mount(bar, before="#table")
    shown = 0.0
    while source.load_step(0.02):
        now = time.monotonic()
        if now - shown >= 0.2:
            shown = now
            bar.update(_progress_text(app, source))
        await asyncio.sleep(0)  # the UI stays responsive between slices
    await bar.remove()
    _notify_loss(app, source)
    app.browser.tick()


def _notify_loss(app: ReplayHost, source: HistorySource) -> None:
    """The exact loss report of a damaged recording, as one notification."""
    rec = recorded(source)
    if rec is None:
        return
    report = rec.loss_report()
    if report.damaged:
        app.notify(
            "\n".join([report.summary(), *report.lines(safe=True)]),
            title="damaged recording",
            severity="warning",
            timeout=30,
            markup=False,  # type names come from the file
        )


def _progress_text(app: ReplayHost, source: LoadingSource) -> Text:
    total = max(source.total_changes, 1)
    pct = min(100, 100 * source.loaded_changes // total)
    text = Text(f"loading history: {pct}% of {source.total_changes:,} changes", style="bold")
    if source.complete_from is not None:
        text.append(
            f" · complete from {format_clock(source.complete_from, app.ctx.settings.tz)}",
            style="dim",
        )
    return text


def _poll(app: ReplayHost, source: FollowingSource) -> None:
    if not source.is_live:
        return  # the recorder stopped: nothing more will come
    try:
        source.poll()
    except Exception as err:  # a bad block while following is reported, not fatal
        app.notify(f"following stopped: {err}", title="follow", severity="error")
        return
    state = source.writer_state()
    if state.stopped:
        writer_stopped(app, state)


def writer_stopped(app: ReplayHost, state: Any) -> None:
    """The followed recorder stopped: no more LIVE; the header says when, the view stays at
    the recording's end (paused there if it was following it)."""
    playback = app.ctx.playback
    playback.live_available = False
    if playback.live:
        rec = recorded(app.ctx.source)
        end = rec.end_t if rec is not None else None
        playback.seek(end if end is not None else playback.t)
    when = format_clock(state.at, app.ctx.settings.tz) if state.at is not None else "?"
    label = {"closed": "STOPPED", "gone": "WRITER GONE", "replaced": "REPLACED"}.get(
        state.how, "STOPPED"
    )
    app.ctx.settings.source_label = f"FOLLOW · {label} {when}"
    app.notify(state.describe(), title="follow", severity="warning", timeout=30, markup=False)
    loading = SourceCapability.LOADS_HISTORY in app.ctx.source.capabilities
    if not loading or cast(LoadingSource, app.ctx.source).history_complete:
        _notify_loss(app, app.ctx.source)  # else the history's loader reports it when done
