"""A recording in the app: its end is "now", history fills in the background (a v0.1 file), a
recording still written is followed.

What a source can do is what it declares (`SourceCapability`): the app never imports the
recording layer, and a live session (which declares none of these) is left alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
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
    from khronoscope.tui.app import KhronoscopeApp

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


def start_replay(app: KhronoscopeApp) -> None:
    """On mount: report damage, load history in a worker, and poll a followed recording."""
    source = app.source
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


async def _load_history(app: KhronoscopeApp, source: LoadingSource) -> None:
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


def _notify_loss(app: KhronoscopeApp, source: HistorySource) -> None:
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


def _progress_text(app: KhronoscopeApp, source: LoadingSource) -> Text:
    total = max(source.total_changes, 1)
    pct = min(100, 100 * source.loaded_changes // total)
    text = Text(f"loading history: {pct}% of {source.total_changes:,} changes", style="bold")
    if source.complete_from is not None:
        text.append(
            f" · complete from {format_clock(source.complete_from, app.settings.tz)}", style="dim"
        )
    return text


def _poll(app: KhronoscopeApp, source: FollowingSource) -> None:
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


def writer_stopped(app: KhronoscopeApp, state: Any) -> None:
    """The followed recorder stopped: no more LIVE; the header says when, the view stays at
    the recording's end (paused there if it was following it)."""
    playback = app.playback
    playback.live_available = False
    if playback.live:
        rec = recorded(app.source)
        end = rec.end_t if rec is not None else None
        playback.seek(end if end is not None else playback.t)
    when = format_clock(state.at, app.settings.tz) if state.at is not None else "?"
    label = {"closed": "STOPPED", "gone": "WRITER GONE", "replaced": "REPLACED"}.get(
        state.how, "STOPPED"
    )
    app.settings.source_label = f"FOLLOW · {label} {when}"
    app.notify(state.describe(), title="follow", severity="warning", timeout=30, markup=False)
    loading = SourceCapability.LOADS_HISTORY in app.source.capabilities
    if not loading or cast(LoadingSource, app.source).history_complete:
        _notify_loss(app, app.source)  # else the history's loader reports it when done
