"""`khronoscope convert OLD.khr NEW.khr`: rewrite a v0.1 recording (one file) as a segmented
one, which opens at any moment without loading its whole history. The old file is kept."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from khronoscope.core.safetext import safe_line
from khronoscope.errors import UsageError
from khronoscope.recording.recorder import _size
from khronoscope.recording.segments.source import is_segmented

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope convert`."""
    parser.add_argument("old", metavar="OLD", help="a v0.1 recording (one file)")
    parser.add_argument("new", metavar="NEW", help="the segmented recording to create")


def run(args: argparse.Namespace) -> int:
    """Convert, with a progress line on stderr."""
    from khronoscope.commands.record import check_new_file
    from khronoscope.recording.segments.convert import convert

    for name, value in (("OLD", args.old), ("NEW", args.new)):
        if not value:
            raise UsageError(f"{name} is empty: name a recording")
    old, new = Path(args.old).expanduser(), Path(args.new).expanduser()
    if is_segmented(old):
        raise UsageError(f"{old} is already a segmented recording: nothing to convert")
    if new.exists() or new.is_symlink():
        raise UsageError(f"{new} already exists: choose a new name (nothing is overwritten)")
    check_new_file(new)  # its directory exists and is writable: before reading OLD
    progress = _Progress()
    try:
        done = convert(old, new, progress.show)
    finally:
        progress.clear()
    for line in done.problems:
        print(safe_line(f"khronoscope: warning: {old}: {line}"), file=sys.stderr)
    print(
        f"khronoscope: converted {done.changes:,} changes into {done.segments} segments "
        f"({_size(done.bytes)}) in {new}; open it with: khronoscope open {new}",
        file=sys.stderr,
    )
    return 0


class _Progress:
    """`converting: 41% (410,000 of 1,000,000 changes)` as an updating line on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.drawn = False

    def show(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        pct = 100 * done // max(total, 1)
        line = f"converting: {pct}% ({done:,} of {total:,} changes)"
        sys.stderr.write(("\r\033[K" + line) if self.tty else line + "\n")
        sys.stderr.flush()
        self.drawn = self.tty

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
