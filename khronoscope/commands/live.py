"""`khronoscope live`: browse the current kubeconfig context (the default command).

A cluster session (khronoscope.cluster) feeds the TemporalMap, rows computed by
`printers.row_for`; the browser (khronoscope.tui) runs on the same event loop. `demo` calls
`run_app(args, kubeconfig=...)` with its simulated cluster's kubeconfig.

Unless `--no-record`, everything the session stores is also written to a recording (the user's
data directory by default, or `--record FILE`), so a crash of the app loses at most the last
second; its path is shown in the app and printed on exit for `khronoscope open`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khronoscope.cluster.options import ClusterOptions, add_cluster_arguments
from khronoscope.commands._recording import (
    add_retention_arguments,
    parse_duration,
    retention_from_args,
)
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import NS, now_ns
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.tui.run import add_browser_arguments, settings_from_args

__all__ = ["DEFAULT_MAX_AGE", "add_arguments", "add_recording_arguments", "run", "run_app"]

DEFAULT_MAX_AGE = "7d"
"""Retention of the recordings the app makes in the data directory by default."""


def add_recording_arguments(parser: argparse.ArgumentParser) -> None:
    """`--record FILE`, `--no-record` and retention (also used by `demo`)."""
    group = parser.add_argument_group(
        "recording (default: the data directory, kept for " + DEFAULT_MAX_AGE + ")"
    )
    group.add_argument(
        "--record", metavar="FILE", help="record to FILE instead of the data directory"
    )
    group.add_argument("--no-record", action="store_true", help="do not record")
    add_retention_arguments(parser, default_age=DEFAULT_MAX_AGE)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The browser's options, the recording's, and the cluster's."""
    add_browser_arguments(parser)
    add_recording_arguments(parser)
    add_cluster_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Connect, start watching, and browse."""
    return run_app(args)


@dataclass
class RecordingPlan:
    """Where the app records (None: not at all), and with which retention."""

    path: Path | None
    default_location: bool
    retention: Any


def recording_plan(args: argparse.Namespace) -> RecordingPlan:
    """Read and check the recording options before anything connects (one-line errors)."""
    from khronoscope.commands.record import check_new_file, new_recording_path

    if getattr(args, "no_record", False):
        if getattr(args, "record", None):
            raise UsageError("give either --record FILE or --no-record, not both")
        return RecordingPlan(None, False, None)
    explicit = getattr(args, "record", None)
    if explicit is not None:
        path = new_recording_path(explicit, "--record")
        check_new_file(path)
        return RecordingPlan(path, False, retention_from_args(args))
    return RecordingPlan(None, True, retention_from_args(args, DEFAULT_MAX_AGE))


def run_app(args: argparse.Namespace, kubeconfig: str | None = None) -> int:
    """Browse the cluster `args` (or `kubeconfig`) points at until the user quits."""
    settings = settings_from_args(args)  # bad options fail here, before connecting
    plan = recording_plan(args)
    # imported here, not at the top: the session brings kubernetes_asyncio and aiohttp (about
    # a second), which `--help` and every other command would otherwise pay at start-up
    from khronoscope.cluster.session import ClusterSession

    options = ClusterOptions.from_args(args)
    if kubeconfig is not None:
        options = dataclasses.replace(options, kubeconfig=kubeconfig)
    return asyncio.run(_browse(ClusterSession, options, settings, plan))


async def _browse(
    session_cls: Any,
    options: Any,
    settings: Any,
    plan: RecordingPlan,
    run: Callable[[Any], Awaitable[Any]] | None = None,
) -> int:
    """Run the app on a session until the user quits; `:ctx NAME` starts over on that context
    (`run` drives an app to its end: the terminal by default, a pilot in the tests)."""
    from khronoscope.tui.app import ContextSwitch

    while True:
        app, session, live = await open_live(session_cls, options, settings, plan)
        try:
            result = await (run(app) if run is not None else app.run_async())
        finally:
            await close_live(session, live)
        if not isinstance(result, ContextSwitch):
            return 0
        # `:ctx NAME`: a new session (and recording) on the other context, from its start
        print(safe_line(f"khronoscope: switching to context {result.context}"), file=sys.stderr)
        options = dataclasses.replace(options, context=result.context)
        settings = dataclasses.replace(settings, at=None, namespace=None, source_label="")
        if plan.path is not None:
            # an explicit --record FILE belongs to the first context: the next one records to
            # the data directory, beside it
            plan = RecordingPlan(None, True, plan.retention)


async def open_live(
    session_cls: Any, options: Any, settings: Any, plan: RecordingPlan
) -> tuple[Any, Any, LiveRecording | None]:
    """Connect, attach the recording before the first change, start watching, build the app
    (the tests drive the app this returns through Textual's pilot)."""
    from khronoscope.printers import row_for
    from khronoscope.tui.app import create_app

    session = session_cls(options, row_fn=row_for)
    await session.connect()  # one-line errors (kubeconfig, unreachable server) before the UI
    try:
        live = start_recording(session, options, plan)
    except BaseException:
        await session.close()
        raise
    session.run()
    app = create_app(live.source_for(session) if live is not None else session, settings)
    if live is not None:
        live.attach_to(app)
    app.startup_hooks.append(lambda a: notify_scope_hint(a, session))
    return app, session, live


def notify_scope_hint(app: Any, session: Any) -> None:
    """Say once, as a notification, that `-n NAMESPACE` may help (when the session finds
    that most types are forbidden across all namespaces)."""

    def check() -> None:
        if session.scope_hint:
            timer.stop()
            app.notify(session.scope_hint, title="forbidden types", severity="warning", timeout=30)

    timer = app.set_interval(0.5, check)


async def close_live(session: Any, live: LiveRecording | None) -> None:
    """Stop watching, then close the recording (its path is printed for `khronoscope open`)."""
    try:
        await session.close()  # outages still open become gaps ending at session.stopped_at
    finally:
        if live is not None:
            live.close(stop_t=session.stopped_at)  # the recording's range ends at the stop


# the live app keeps this much of the newest history in memory; older history is read back from
# its own recording (only what has been sealed into segments is ever dropped)
HOT_WINDOW_NS = 10 * 60 * NS
TRIM_EVERY_S = 30.0


class LiveRecording:
    """The app's recording: a writer and a recorder on the session, ticked by the app."""

    def __init__(self, writer: Any, recorder: Any, hot_window: int = HOT_WINDOW_NS) -> None:
        self.writer = writer
        self.recorder = recorder
        self.path: Path = writer.path
        self._reported = False
        self.hot_window = hot_window
        self.history: Any = None
        self._session: Any = None
        self._next_trim = 0.0

    def source_for(self, session: Any) -> Any:
        """What the app shows: the session, whose map keeps only the hot window in memory, and
        its own recording for everything older (read lazily, as `khronoscope open` reads)."""
        from khronoscope.printers import row_for
        from khronoscope.recording.segments.catalog import SegmentedRecording
        from khronoscope.recording.segments.history import LazyHistory
        from khronoscope.recording.segments.hotcold import HotColdHistory, HotColdSource

        cold = LazyHistory(SegmentedRecording(self.writer.store, None), row_fn=row_for)
        self.history = HotColdHistory(session.tmap, cold)
        self._session = session
        return HotColdSource(session, self.history)

    def trim(self, now: int) -> int:
        """Forget from the session's map what is older than the hot window and sealed in the
        recording already (the views then read it from there). Returns versions dropped."""
        if self.history is None or self.writer.failed is not None:
            return 0
        sealed = self.writer.sealed_until
        if sealed is None:
            return 0
        cut = min(now - self.hot_window, sealed + 1)
        current = self.history.hot_from
        if current is not None and cut <= current:
            return 0
        self.history.refresh()  # the segments up to the cut are there before the map forgets
        return self._session.tmap.trim_before(cut)

    def attach_to(self, app: Any) -> None:
        """Show the path in the app, and tick the recorder (rate, retention) once a second."""
        app.settings.source_label = "● REC"
        app.startup_hooks.append(self._started)

    def _started(self, app: Any) -> None:
        app.notify(f"recording to {self.path}", title="recording", timeout=8)
        app.set_interval(1.0, lambda: self.tick(app))

    def tick(self, app: Any) -> None:
        """Retention when due, the map trimmed to its hot window now and then; a failed writer
        is reported once (the browsing goes on)."""
        if self.writer.failed is None:
            try:
                self.recorder.tick()
            except KhronoscopeError as err:
                if self.writer.failed is None:
                    app.notify(str(err), title="recording", severity="warning", timeout=10)
            now = time.monotonic()
            if now >= self._next_trim:
                self._next_trim = now + TRIM_EVERY_S
                self.trim(now_ns())
        if self.writer.failed is not None and not self._reported:
            self._reported = True
            app.settings.source_label = "REC STOPPED"
            app.notify(str(self.writer.failed), title="recording", severity="error", timeout=30)

    def close(self, stop_t: int | None = None) -> None:
        """Close the recording (its range ending at `stop_t`) and tell the user where it is."""
        if self.history is not None:
            self.history.close()
        if self.writer.failed is None:
            self.recorder.sync()
        self.writer.close(stop_t=stop_t)
        s = self.writer.stats
        if self.writer.failed is not None:
            print(safe_line(f"khronoscope: {self.writer.failed}"), file=sys.stderr)
        print(
            safe_line(
                f"khronoscope: recorded {s.changes:,} changes to {self.path}; "
                f"replay with: khronoscope open {self.path}"
            ),
            file=sys.stderr,
        )


def start_recording(session: Any, options: Any, plan: RecordingPlan) -> LiveRecording | None:
    """Create the recording and attach it to the connected session (before `run()`)."""
    from khronoscope.commands.record import header_options
    from khronoscope.recording import format as fmt
    from khronoscope.recording.recorder import Recorder, default_recording_path, ensure_parent
    from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions

    if plan.path is None and not plan.default_location:
        return None
    path = plan.path
    if path is None:
        path = default_recording_path(session.info.context or session.info.cluster)
        ensure_parent(path)
        # earlier runs' files go once older than the retention (never sooner than the
        # default's: a short --max-age for this run must not wipe last week's incident)
        age = max(plan.retention.max_age or 0, parse_duration(DEFAULT_MAX_AGE))
        prune_recordings(path.parent, age, keep=path)
    secrets = fmt.SECRETS_KEPT if options.keep_secret_values else fmt.SECRETS_REDACTED
    header = header_options(options, plan.retention, "live")
    writer_options = SegmentOptions.for_retention(plan.retention.max_age)

    def create(p: Path) -> SegmentedWriter:
        return SegmentedWriter.create_local(
            p, session.info, secrets=secrets, options=header, writer_options=writer_options
        )

    writer = _create_free(path, create) if plan.default_location else create(path)
    recorder = Recorder(session, writer, plan.retention)
    recorder.attach()
    return LiveRecording(writer, recorder)


def _create_free(path: Path, create: Callable[[Path], Any], tries: int = 100) -> Any:
    """`create(p)` at the first free name of `path`, `path-2`, `path-3`...: two windows opened
    on the same context in the same second must not collide on the default file name."""
    for n in range(1, tries + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if candidate.exists() or candidate.is_symlink():
            continue
        try:
            return create(candidate)
        except KhronoscopeError:
            if candidate.exists() or candidate.is_symlink():
                continue  # taken between the check and the create: the next name
            raise
    raise KhronoscopeError(f"cannot create a recording in {path.parent}: {tries} names taken")


def prune_recordings(directory: Path, max_age: int, keep: Path | None = None) -> list[Path]:
    """Delete the app's default recordings (and their bookmark sidecars) last written more than
    `max_age` ns ago: everything in them is older than the retention. Returns what went."""
    limit = (now_ns() - max_age) / NS
    gone = []
    for path in sorted(directory.glob("*.khr")):
        if keep is not None and path == keep:
            continue
        try:
            if _last_written(path) >= limit:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a segmented recording
            else:
                path.unlink()
        except OSError:
            continue  # in use elsewhere, or already gone: never fail the app for this
        gone.append(path)
        path.with_name(path.name + ".bookmarks").unlink(missing_ok=True)
    return gone


def _last_written(path: Path) -> float:
    """When a recording was last written: a v0.1 file's mtime, or a segmented recording's
    newest object (a directory's own mtime only moves when entries come and go)."""
    if not path.is_dir() or path.is_symlink():
        return path.stat().st_mtime
    newest = path.stat().st_mtime
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            newest = max(newest, p.stat().st_mtime)
    return newest
