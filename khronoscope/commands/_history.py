"""Shared by `export` and `drift`: where the history comes from, and reading moments."""

from __future__ import annotations

import argparse
from importlib import import_module

from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import TimeParseError, parse_time
from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.export.target import recorded_range


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`--recording FILE`, or a live cluster (`--context`)."""
    group = parser.add_argument_group("history source (default: the live cluster)")
    group.add_argument("--recording", metavar="FILE", help="read a recording file")
    group.add_argument("--context", metavar="NAME", help="kubeconfig context of the live cluster")


def open_source(args: argparse.Namespace) -> HistorySource:
    """The history to export from: a recording file, or (later) the live cluster."""
    if args.recording:
        return _open_recording(args.recording)
    raise KhronoscopeError(
        "reading a live cluster is not available yet in this build: use --recording FILE"
    )


def _open_recording(path: str) -> HistorySource:
    # the recording branch provides `khronoscope.recording.source.open_recording(path)`;
    # until it lands the option fails with one line instead of a traceback
    try:
        module = import_module("khronoscope.recording.source")
        opener = module.open_recording
    except (ImportError, AttributeError):
        raise KhronoscopeError(
            "reading recordings is not available yet in this build (--recording)"
        ) from None
    return opener(path)


def parse_moment(text: str, source: HistorySource, what: str = "--at") -> int:
    """A moment the user typed; relative times count from the recording's end (or now, live)."""
    _start, end = recorded_range(source)
    try:
        return parse_time(text, now=end)
    except TimeParseError as err:
        raise UsageError(f"{what}: {err}") from None


def split_list(values: list[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated values."""
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]
