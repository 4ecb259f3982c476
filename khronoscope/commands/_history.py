"""Shared by `export` and `drift`: where the history comes from, and reading moments.

The history is a recording (`--recording FILE`) or, by default, the live cluster: a session is
connected with the same options as every other command (`--kubeconfig`, `--context`, and the
command's own `-n/--namespace`, which then also limits what is watched), every type is listed
once (progress on stderr), and the watches stop: the moment exported or compared is "now", the
moment the listing completed. A live cluster has no past, so `--at` earlier than now needs a
recording.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from khronoscope.argtypes import number
from khronoscope.core.safetext import safe_line
from khronoscope.core.source import HistorySource, TypeState
from khronoscope.core.timefmt import NS, TimeParseError, format_iso, now_ns, parse_time
from khronoscope.errors import UsageError
from khronoscope.export.target import recorded_range
from khronoscope.recording.loss import ReportsLoss
from khronoscope.recording.opening import open_any as open_recording

# a time typed for a live source may be this far before now and still mean "now"
_NOW_SLACK = 5 * NS


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`--recording FILE`, or a live cluster (the cluster options, -n being the command's)."""
    group = parser.add_argument_group("history source (default: the live cluster)")
    group.add_argument("--recording", metavar="FILE", help="read a recording file")
    from khronoscope.commands._cache import add_cache_argument

    add_cache_argument(group)
    group.add_argument(
        "--sync-timeout",
        type=number(0, 86400, low_open=True),
        default=120.0,
        metavar="SECONDS",
        help="live cluster: how long to wait for every type to be listed (default 120); types "
        "not listed by then are treated as unreadable",
    )
    from khronoscope.cluster.options import add_cluster_arguments

    add_cluster_arguments(parser, namespace=False)


def open_source(args: argparse.Namespace, keep_secret_values: bool = False) -> HistorySource:
    """The history to read: a recording file, or the live cluster listed once (synced)."""
    if args.recording:
        source = open_recording(args.recording, cache_mb=getattr(args, "cache_mb", None))
        if isinstance(source, ReportsLoss):
            report = source.loss_report()  # what a damaged file cannot give, in one block
            if report.damaged:
                print(report.warning(args.recording), file=sys.stderr)
        return source
    return open_live(args, keep_secret_values)


def check_live_moment(text: str | None, what: str = "--at") -> None:
    """Refuse a past moment for a live cluster before connecting (it only has "now")."""
    if not text:
        return
    now = now_ns()
    try:
        t = parse_time(text, now=now)
    except TimeParseError as err:
        raise UsageError(f"{what}: {err}") from None
    if t < now - _NOW_SLACK:
        raise UsageError(
            f"{what} {text}: a live cluster only has now; to read an earlier moment, record the "
            "cluster (khronoscope record -o FILE, or the app's recording) and use --recording FILE"
        )


def open_live(args: argparse.Namespace, keep_secret_values: bool = False) -> HistorySource:
    """Connect, list every type once (progress on stderr), stop watching; the session's map
    then holds the cluster as of now."""
    import dataclasses

    from khronoscope.cluster.options import ClusterOptions

    options = ClusterOptions.from_args(args)
    if keep_secret_values:
        options = dataclasses.replace(options, keep_secret_values=True)
    return asyncio.run(_sync(options, getattr(args, "sync_timeout", 120.0)))


async def _sync(options: Any, timeout: float) -> HistorySource:
    from khronoscope.cluster.session import ClusterSession

    session = ClusterSession(options)
    progress = _SyncProgress()
    try:
        await session.connect()
        info = session.info
        progress.say(f"reading context {info.context} (cluster {info.cluster}) live")
        session.run()
        deadline = time.monotonic() + timeout
        while not session.synced and time.monotonic() < deadline:
            progress.show(session)
            await asyncio.sleep(0.1)
        progress.done(session)
    finally:
        await session.close()
    return session


class _SyncProgress:
    """`listing: 12/26 types` as one updating line on a terminal, else a line at start and end."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.drawn = False

    def say(self, line: str) -> None:
        # context, cluster and type names: the kubeconfig's and the API server's text
        print(f"khronoscope: {safe_line(line)}", file=sys.stderr, flush=True)

    def show(self, session: Any) -> None:
        if not self.tty:
            return
        status = session.type_status()
        done = sum(1 for s in status.values() if s.state is not TypeState.SYNCING)
        objects = sum(s.objects for s in status.values())
        sys.stderr.write(f"\r\033[Klisting: {done}/{len(status)} types, {objects:,} objects")
        sys.stderr.flush()
        self.drawn = True

    def done(self, session: Any) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
        status = session.type_status()
        slow = sorted(n for n, s in status.items() if s.state is TypeState.SYNCING)
        objects = sum(s.objects for s in status.values())
        self.say(f"listed {len(status) - len(slow)} types, {objects:,} objects")
        if slow:
            shown = ", ".join(slow[:5]) + (f" +{len(slow) - 5}" if len(slow) > 5 else "")
            self.say(f"warning: not listed in time (treated as unreadable): {shown}")


def parse_moment(text: str, source: HistorySource, what: str = "--at") -> int:
    """A moment the user typed; relative times count from the recording's end (or now, live);
    `start` and `end` are the recording's first and last moments."""
    start, end = recorded_range(source)
    word = text.strip().lower()
    if word in ("start", "begin", "first"):
        return start
    if word in ("end", "last"):
        return end
    try:
        t = parse_time(text, now=end)
    except TimeParseError as err:
        raise UsageError(f"{what}: {err}") from None
    if source.is_live:
        # a live cluster's only moment is the one just listed (see check_live_moment)
        return max(t, end) if t >= end - _NOW_SLACK else t
    return t


def clamp_moment(t: int, source: HistorySource, what: str = "--at", verb: str = "using") -> int:
    """`t` inside the recorded range: a moment before its start or after its end becomes that
    edge, and a line on stderr says so (the one way every command and the app treat it)."""
    if source.is_live:
        return t
    start, end = recorded_range(source)
    if start <= t <= end:
        return t
    edge, where = (
        (start, "before the recording's start") if t < start else (end, "after the recording's end")
    )
    print(
        f"khronoscope: {what} {format_iso(t)} is {where} ({format_iso(start)} .. "
        f"{format_iso(end)}): {verb} {format_iso(edge)}",
        file=sys.stderr,
    )
    return edge


def moment_in_range(text: str, source: HistorySource, what: str = "--at") -> int:
    """A moment the user typed (see parse_moment), clamped to the recording (see clamp_moment)."""
    return clamp_moment(parse_moment(text, source, what), source, what)


def split_list(values: list[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated values."""
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


def namespace_list(values: list[str] | None, what: str = "-n/--namespace") -> list[str]:
    """`-n` values (repeatable, comma-separated), each a valid namespace name (UsageError)."""
    from khronoscope.cluster.options import check_namespace

    if any(not v.replace(",", "").strip() for v in values or ()):
        raise UsageError(f"{what} is empty: give a namespace name, or omit it")
    return [check_namespace(name, what) for name in split_list(values)]


def source_namespaces(source: HistorySource) -> set[str]:
    """Every namespace the source holds objects of, or a Namespace object of, at any time."""
    tmap = source.tmap
    return {*tmap.namespaces(), *(c.key.name for c in tmap.chains("namespaces"))} - {""}


def scope_filters(
    source: HistorySource, namespaces: list[str], types: list[str]
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The -n and -t filters resolved against the source: a namespace it never saw or a type
    it does not know is a UsageError (exit 2), never a filter that silently matches nothing."""
    from khronoscope.export.scope import known_namespaces, known_types

    spaces = known_namespaces(namespaces, source_namespaces(source)) if namespaces else None
    kinds = known_types(types, source.resource_types(), source.tmap.types()) if types else None
    return spaces, kinds
