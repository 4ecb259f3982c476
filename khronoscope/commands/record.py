"""`khronoscope record -o FILE`: record a cluster headless, until Ctrl-C or SIGTERM.

The session connects (one-line errors before anything is written), the recorder attaches before
the first list so nothing is missed, then a status line reports types watched, changes/s and the
file's size: one updating line on a terminal, one line every `--status-every` seconds otherwise
(a log). SIGINT/SIGTERM stop the watches, then close the file (final keyframe and index), exit 0.
A full disk stops the recording with one line saying what the file keeps, exit 1; so does the
file being deleted or moved away while it is written (checked every status tick).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from khronoscope.argtypes import number
from khronoscope.cluster.options import ClusterOptions, add_cluster_arguments
from khronoscope.commands._listen import (
    add_listen_argument,
    listen_address,
    output_path,
    start_serving,
)
from khronoscope.commands._recording import (
    StatusLine,
    add_retention_arguments,
    parse_size,
    retention_from_args,
    retention_options,
)
from khronoscope.commands._remote import REMOTE_SEAL_AFTER, RemoteOptions, RemoteRecording
from khronoscope.core.safetext import safe_line
from khronoscope.core.source import TypeState
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.recording import format as fmt
from khronoscope.recording.recorder import Recorder, Retention, _size
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions

if TYPE_CHECKING:  # imported where a recording starts (see `_record`)
    from khronoscope.cluster.session import ClusterSession

__all__ = [
    "MEMORY_WINDOW_NS",
    "TRIM_EVERY_NS",
    "add_arguments",
    "check_new_file",
    "run",
    "trim_memory",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope record`."""
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR|URL",
        help="the recording to create (a directory of segments, e.g. prod.khr), or an "
        "object-storage prefix, s3://BUCKET/PREFIX (credentials and endpoint from the AWS "
        "variables; a restarted recorder goes on with the recording there)",
    )
    parser.add_argument(
        "--upload-spool",
        metavar="SIZE",
        default="1G",
        help="s3://: at most this much waits on local disk while the store is unreachable "
        "(default 1G; beyond it the oldest waiting segments are dropped, and said so)",
    )
    parser.add_argument(
        "--seal-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seal the open segment at least this often (default 60 for s3://, what a teammate "
        "following the recording waits at most; 300 for a directory)",
    )
    add_listen_argument(parser)
    parser.add_argument(
        "--status-every",
        type=number(0, 86400, low_open=True),
        default=10.0,
        metavar="SECONDS",
        help="when stderr is not a terminal, print the status line this often (default 10)",
    )
    add_retention_arguments(parser, default_age=None)
    add_cluster_arguments(parser)


def new_recording_path(
    text: str, what: str = "-o/--output", parse: Callable[[str], Path] = Path
) -> Path:
    """The file a new recording goes to, as typed (`parse` reads it: a path, or a file:// URL);
    UsageError (exit 2) for a directory."""
    if not text.strip():
        raise UsageError(f"{what} is empty: give the file to record to (e.g. incident.khr)")
    path = parse(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise UsageError(
            f"{what} {text[:200]!r} is a directory: give a file name in it "
            f"(e.g. {str(path / 'recording.khr')[:200]})"
        )
    return path


def check_new_file(path: Path) -> None:
    """Refuse, with one line, a path a new recording cannot be created at (before connecting)."""
    if path.exists() or path.is_symlink():
        raise KhronoscopeError(
            f"{path} already exists: choose a new file (recordings are never overwritten)"
        )
    parent = path.parent
    if not parent.exists():
        raise KhronoscopeError(f"cannot create {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise KhronoscopeError(f"cannot create {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise KhronoscopeError(f"cannot create {path}: directory {parent} is not writable")


def run(args: argparse.Namespace) -> int:
    """Record until stopped."""
    if args.status_every <= 0:
        raise UsageError("--status-every must be greater than 0")
    if args.seal_every is not None and not 1 <= args.seal_every <= 86400:
        raise UsageError("--seal-every must be between 1 and 86400 seconds")
    retention = retention_from_args(args)
    listen_address(args)  # a bad --listen is refused before connecting
    target = output_path(args.output) if args.output.strip() else None
    spool = parse_size(args.upload_spool, "--upload-spool")
    out: Path | str
    if isinstance(target, str):
        out = target  # s3://: checked when the store is opened (after connecting)
    else:
        out = new_recording_path(args.output, parse=lambda text: Path(output_path(text)))
        check_new_file(out)
    return asyncio.run(_record(args, out, retention, spool))


def header_options(options: ClusterOptions, retention: Retention, command: str) -> dict[str, Any]:
    """What the recorder watched and kept, for the file header."""
    return {
        "command": command,
        "namespaces": list(options.namespaces) or "all",
        "exclude_namespaces": list(options.exclude_namespaces),
        "include": list(options.include),
        "exclude": list(options.exclude),
        **retention_options(retention),
    }


def status_text(recorder: Recorder, session: ClusterSession, label: str | None = None) -> str:
    """The recorder's status line, with the watches that are not live yet (or any more)."""
    text = recorder.status_line(label)
    states: dict[TypeState, int] = {}
    for st in session.type_status().values():
        states[st.state] = states.get(st.state, 0) + 1
    notes = [
        f"{n} {state.value}"
        for state in (TypeState.SYNCING, TypeState.RETRYING, TypeState.FORBIDDEN, TypeState.GONE)
        if (n := states.get(state))
    ]
    return text + (f" ({', '.join(notes)})" if notes else "")


async def _record(
    args: argparse.Namespace, out: Path | str, retention: Retention, spool_bytes: int
) -> int:
    # imported here, not at the top: the session brings kubernetes_asyncio and aiohttp (about
    # a second), which `--help` and every other command would otherwise pay at start-up
    from khronoscope.cluster.session import ClusterSession

    options = ClusterOptions.from_args(args)
    session = ClusterSession(options, row_fn=None)  # headless: no table rows to compute
    await session.connect()  # one-line errors (kubeconfig, unreachable) before any file exists
    status = StatusLine(args.status_every)
    remote: RemoteRecording | None = None
    secrets = fmt.SECRETS_KEPT if options.keep_secret_values else fmt.SECRETS_REDACTED
    writer_options = SegmentOptions.for_retention(retention.max_age)
    if args.seal_every is not None:
        writer_options.seal_after = args.seal_every
    elif isinstance(out, str):
        writer_options.seal_after = min(writer_options.seal_after, REMOTE_SEAL_AFTER)
    try:
        if isinstance(out, str):
            # object storage: the lease first, then what a previous run left, then the writer
            remote = RemoteRecording(out, status.say, RemoteOptions(spool_bytes=spool_bytes))
            writer = await asyncio.to_thread(
                remote.start,
                session.info,
                secrets,
                header_options(options, retention, "record"),
                writer_options,
            )
        else:
            writer = SegmentedWriter.create_local(
                out,
                session.info,
                secrets=secrets,
                options=header_options(options, retention, "record"),
                writer_options=writer_options,
            )
    except BaseException:
        await session.close()
        raise
    recorder = Recorder(session, writer, retention)
    recorder.attach()  # before run(): the first list is recorded too
    info = session.info
    writer.set_info(
        now_ns(),
        {"cluster": info.cluster, "context": info.context, "server_version": info.server_version},
    )
    status.say(
        f"recording context {info.context or '?'} (cluster {info.cluster or '?'}, "
        f"{info.server_version or 'unknown version'}) to {out}; Ctrl-C to stop"
    )
    server = metrics = None
    if (where := listen_address(args)) is not None:
        try:
            server, metrics = await start_serving(where, session, writer)
        except BaseException:
            writer.close()
            if remote is not None:
                remote.close(drain_timeout=0)
            await session.close()
            raise
        status.say(f"serving /healthz, /readyz and /metrics on port {server.port}")
        if remote is not None:
            metrics.attach_uploader(remote.uploader.stats)
            remote.on_segment = metrics.segment_written
            remote.on_uploaded = metrics.uploaded
            remote.on_error = metrics.error
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    session.run()
    try:
        await _loop(
            session, writer, recorder, status, stop, metrics.error if metrics else None, remote
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if server is not None:
            await server.close()
        status.clear()
        await session.close()  # outages still open become gaps ending at session.stopped_at
        recorder.sync()  # the last watch states
        writer.check_path()  # deleted or moved in the last second: never claim it holds this
        # the recording's range ends at the stop (when the watches stopped), not its last change
        writer.close(stop_t=session.stopped_at)
        left = ""
        if remote is not None:
            if remote.uploader is not None and remote.uploader.stats().backlog_objects:
                status.say(f"uploading the last segments to {remote.url}…")
            left = await asyncio.to_thread(remote.close)
    if remote is not None and remote.lost is not None:
        raise KhronoscopeError(remote.lost)
    if writer.failed is not None:
        raise KhronoscopeError(str(writer.failed))
    if left:
        status.say(f"khronoscope: warning: {left}")
    s = writer.stats
    span = ""
    if s.last_t is not None:
        span = f", up to {format_iso(s.last_t)}"
    held = f"holds {s.changes:,} changes ({_size(s.bytes)}){span}"
    if remote is not None and remote.resumed is not None:
        # it went on with an existing recording: this run's changes, the whole size
        held = f"holds {s.changes:,} more changes ({_size(s.bytes)} in all){span}"
    print(
        safe_line(f"khronoscope: stopped; {out} {held}; replay it with: khronoscope open {out}"),
        file=sys.stderr,
    )
    return 0


# A recorder runs for days: its in-memory map only needs the newest versions (the watchers
# reconcile against their own resourceVersions), so history older than this is dropped.
MEMORY_WINDOW_NS = 60 * 1_000_000_000
TRIM_EVERY_NS = 30 * 1_000_000_000


def trim_memory(session: ClusterSession) -> None:
    """Drop what recording no longer needs: the file holds the history; in memory only the
    last minute stays (what dedupe and log capture read)."""
    session.keep_window(MEMORY_WINDOW_NS)


async def _loop(
    session: ClusterSession,
    writer: SegmentedWriter,
    recorder: Recorder,
    status: StatusLine,
    stop: asyncio.Event,
    on_error: Callable[[str], None] | None = None,
    remote: RemoteRecording | None = None,
) -> None:
    first = True
    hinted = False
    next_trim = time.monotonic() + TRIM_EVERY_NS / 1e9
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if writer.failed is not None:
            return
        if remote is not None:
            if remote.lost is not None:
                return  # another recorder took the prefix over: stop writing at once
            remote.reconcile(session)
        try:
            result = recorder.tick()
        except KhronoscopeError as err:
            if writer.failed is not None:
                return
            status.say(f"khronoscope: warning: {err}")  # retention failed; recording goes on
            if on_error is not None:
                on_error("retention")
            result = None
        if result is not None and result.compacted:
            status.say(
                f"khronoscope: retention: dropped {result.dropped_changes:,} old changes, "
                f"{_size(result.old_size)} -> {_size(result.new_size)}; the file now starts at "
                f"{format_iso(result.start_t or 0)}"
            )
        if session.scope_hint and not hinted:
            hinted = True  # once: the forbidden count stays in the status line
            status.say(f"khronoscope: hint: {session.scope_hint}")
        text = status_text(recorder, session, remote.url if remote is not None else None)
        if remote is not None and (backlog := remote.status()):
            text += f"; {backlog}"
        status.show(text, force=first)
        first = False
        if time.monotonic() >= next_trim:
            trim_memory(session)
            next_trim = time.monotonic() + TRIM_EVERY_NS / 1e9
