"""`khronoscope open FILE [--follow]`: the same app over a recording, offline.

Opening reads the newest moment first (a line on stderr says what is being opened while that
blocks), then the app starts at the recording's end and fills the past in the background with a
progress line. "Live" is unavailable: the header says REPLAY and the recording's end is the
newest moment. `--follow` keeps reading blocks a recorder is still appending (header: FOLLOW).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from khronoscope.cluster.options import check_namespace
from khronoscope.commands._cache import add_cache_argument
from khronoscope.commands._history import clamp_moment
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import TimeParseError, format_iso, parse_time
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.recorded import KNOWN_SHORT_NAMES
from khronoscope.recording.recorder import _size
from khronoscope.recording.remote import is_remote
from khronoscope.recording.segments.source import is_segmented, open_segmented
from khronoscope.recording.source import RecordingSource
from khronoscope.storage.url import parse_store_url
from khronoscope.tui.run import add_browser_arguments, build_settings

__all__ = ["add_arguments", "first_types", "open_for_app", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope open`."""
    parser.add_argument(
        "file",
        metavar="FILE|URL",
        help="a recording (khronoscope record, the app): a path, or s3://BUCKET/PREFIX",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep reading what a recorder is still appending to FILE",
    )
    parser.add_argument(
        "-n", "--namespace", metavar="NS", default=None, help="namespace shown first"
    )
    add_cache_argument(parser)
    add_browser_arguments(
        parser,
        at_help="open paused at this moment: ISO 8601 (2026-03-14T09:01:00Z), a clock time "
        "(14:32, 14:32:05) or relative to the recording's end (-15m, -2h30m)",
    )


def first_types(word: str) -> list[str] | None:
    """The type the first screen shows, loaded before the rest (None: unknown, load all)."""
    w = word.strip().lower()
    for name, shorts in KNOWN_SHORT_NAMES.items():
        plural = name.split(".", 1)[0]
        if w in (name, plural, plural.rstrip("s"), *shorts):
            return [name]
    return None


def run(args: argparse.Namespace) -> int:
    """Open the recording and browse it until the user quits."""
    from khronoscope.tui.app import create_app
    from khronoscope.tui.replay import end_clock

    if args.namespace is not None:
        check_namespace(args.namespace, "-n/--namespace")
    if args.at:
        # what was typed is checked before the file is read (relative to it once it is)
        try:
            parse_time(args.at, tz=UTC if args.utc else None)
        except TimeParseError as err:
            raise UsageError(f"--at: {err}") from None
    progress = None
    if is_remote(args.file):
        opened = open_remote_for_app(args)
        source, progress, path = opened.source, opened.progress, opened.source.display
    else:
        local = parse_store_url(args.file).path  # a path, or file:///PATH
        assert local is not None
        path = local.expanduser()
        opening = _Opening(path)
        try:
            source = open_for_app(
                path,
                follow=args.follow,
                cache_mb=getattr(args, "cache_mb", None),
                first_type=args.view_type or "pods",
            )
        finally:
            opening.done()
    damaged = [p for p in source.problems() if not p.lossless]
    if damaged:
        print(
            safe_line(
                f"khronoscope: warning: {path} is damaged in {len(damaged)} places: what cannot "
                "be read is shown in the app once its history has loaded, and printed here on exit"
            ),
            file=sys.stderr,
        )
    if source.end_t is None and not args.follow:
        print(safe_line(f"khronoscope: warning: {path} holds no changes yet"), file=sys.stderr)
    clock = end_clock(source)
    try:
        if args.view_type is not None:
            check_view_type(args.view_type, source)
        settings = build_settings(
            command=args.view_type or "pods",
            namespace=args.namespace,
            keymap=args.keymap,
            utc=args.utc,
            at=getattr(args, "at", None),
            clock=clock,
        )
    except BaseException:
        source.close()
        raise
    settings.at = clamp_at(settings.at, source)
    settings.source_label = "FOLLOW" if args.follow else "REPLAY"
    if progress is not None:
        progress.quiet()  # the app takes the terminal: fetches go on without a progress line
    try:
        create_app(source, settings).run()
    finally:
        _report_loss(path, source)
        source.close()
        if progress is not None:
            progress.close()
    return 0


def open_remote_for_app(args: argparse.Namespace) -> Any:
    """A recording in object storage (`Opened`); a prefix holding several: on a terminal the
    user picks one, else one line naming them (exit 2)."""
    from khronoscope.printers import row_for
    from khronoscope.recording.remote import NotOneRecording, open_url

    url = args.file
    cache_mb = getattr(args, "cache_mb", None)
    if sys.stderr.isatty():
        sys.stderr.write(safe_line(f"opening {url}…") + "\n")
        sys.stderr.flush()
    try:
        return open_url(url, row_fn=row_for, follow=args.follow, cache_mb=cache_mb)
    except NotOneRecording as err:
        if len(err.found) < 2 or not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise
        chosen = _pick(url, err.found)
        return open_url(chosen, row_fn=row_for, follow=args.follow, cache_mb=cache_mb)


def _pick(url: str, found: list[Any]) -> str:
    """Ask which recording to open (numbered list on stderr)."""
    from khronoscope.recording.remote import describe
    from khronoscope.storage import open_store

    store = open_store(url)
    base = url.rstrip("/")
    print(safe_line(f"{base} holds {len(found)} recordings:"), file=sys.stderr)
    for i, f in enumerate(found, 1):
        d = describe(store, f)
        span = ""
        if f.first_t and f.last_t:
            span = f"{format_iso(f.first_t)} .. {format_iso(f.last_t)}"
        line = f"  {i}. {f.prefix.rstrip('/')}  {d.cluster}  {span}  {_size(f.size)}  {d.writer}"
        print(safe_line(line), file=sys.stderr)
    while True:
        try:
            answer = input(f"open which? [1-{len(found)}] ").strip()
        except EOFError:
            raise KhronoscopeError("no recording chosen") from None
        if answer.isdigit() and 1 <= int(answer) <= len(found):
            return f"{base}/{found[int(answer) - 1].prefix.rstrip('/')}"


def open_for_app(
    path: Path,
    follow: bool = False,
    cache_mb: int | None = None,
    first_type: str = "pods",
) -> Any:
    """The recording as the app opens it: a segmented one read lazily (nothing loaded up
    front), a v0.1 file newest moment first (its past loaded by the app in the background)."""
    from khronoscope.printers import row_for

    if is_segmented(path):
        return open_segmented(path, row_fn=row_for, follow=follow, cache_mb=cache_mb)
    return RecordingSource(path, row_fn=row_for, follow=follow, first_types=first_types(first_type))


def check_view_type(word: str, source: Any) -> None:
    """Refuse (UsageError) a `-c TYPE` that names no type of the recording."""
    from khronoscope.tui.commands import Aliases

    types = source.resource_types()
    if Aliases(types.values(), source.tmap.types()).resolve(word) is None:
        known = sorted({*types, *source.tmap.types()})
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise UsageError(
            f"-c {word[:60]!r}: not a resource type of this recording (types: {shown or 'none'})"
        )


def clamp_at(at: int | None, source: Any) -> int | None:
    """`--at` inside the recording: a moment before its start or after its end opens at that
    end, and a line on stderr says so (the app would otherwise show an empty past)."""
    if at is None or source.start_t is None or source.end_t is None:
        return at
    return clamp_moment(at, source, "--at", "opening at")


def _report_loss(path: Path, source: Any) -> None:
    """After the app: what a damaged file could not give, as one block on stderr."""
    report = source.loss_report()
    if not report.damaged:
        return
    text = report.warning(path)
    if not source.history_complete:
        text += "\n  (the app was left before the whole history had loaded: there may be more)"
    print(text, file=sys.stderr)


class _Opening:
    """`opening FILE (SIZE, N changes, T1 .. T2)…` on stderr while the newest moment loads."""

    def __init__(self, path: Path) -> None:
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        if is_segmented(path):
            line = _segmented_line(path)
            sys.stderr.write(line + ("" if self.tty else "\n"))
            sys.stderr.flush()
            return
        try:
            with RecordingReader(path) as reader:
                span = ""
                if reader.first_t is not None and reader.last_t is not None:
                    span = f", {format_iso(reader.first_t)} .. {format_iso(reader.last_t)}"
                line = (
                    f"opening {path} ({_size(reader.size)}, {reader.change_count:,} changes{span})…"
                )
        except KhronoscopeError:
            raise  # missing, not a recording, newer format: the one line says which
        sys.stderr.write(safe_line(line) + ("" if self.tty else "\n"))
        sys.stderr.flush()

    def done(self) -> None:
        """Erase the line on a terminal (the app takes the screen next)."""
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _segmented_line(path: Path) -> str:
    """`opening DIR (SIZE, N changes in S segments, T1 .. T2)…` from names and sizes alone."""
    from khronoscope.recording.segments import layout

    segs = [p for p in (path / "segments").glob("*.seg")]
    parsed = [layout.parse_segment(f"segments/{p.name}") for p in segs]
    size = sum(p.stat().st_size for p in segs)
    times = [(s.first_t, s.last_t) for s in parsed if s is not None]
    span = ""
    if times:
        span = f", {format_iso(min(t[0] for t in times))} .. {format_iso(max(t[1] for t in times))}"
    return f"opening {path} ({_size(size)} in {len(segs)} segments{span})…"
