"""Shared by `record`, `live` and `demo`: retention options, and the recorder's status line."""

from __future__ import annotations

import argparse
import re
import sys
import time
from decimal import Decimal
from typing import TextIO

from khronoscope.core import timefmt
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import NS
from khronoscope.errors import UsageError
from khronoscope.recording.recorder import Retention

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# no disk holds more; a bigger --max-size is a typo (and would not fit the header's int64)
_MAX_SIZE = 1024**5
# how often retention runs: a quarter of the age limit, within these bounds (seconds); each run
# rewrites what the file keeps, so not more often than needed
_RETENTION_EVERY = (1.0, 600.0)


def parse_duration(text: str, what: str = "--max-age") -> int:
    """`7d`, `12h`, `1h30m`, `90s` as ns (> 0); UsageError otherwise."""
    try:
        return timefmt.parse_duration(text)
    except timefmt.TimeParseError as err:
        raise UsageError(f"{what} {err}") from None


def parse_size(text: str, what: str = "--max-size") -> int:
    """`500M`, `2G`, `1.5GiB`, `4096` as bytes (K/M/G/T are powers of 1024); UsageError."""
    m = _SIZE.match(text.strip())
    if not m or (m.group(3) and m.group(3).lower() == "i"):
        raise UsageError(f"{what} {text[:40]!r}: use a size like 500M, 2G or 1.5GiB (or bytes)")
    # exact: float() of a long digit string is inf
    size = int(Decimal(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    if size <= 0:
        raise UsageError(f"{what} must be more than 0 bytes")
    if size > _MAX_SIZE:
        raise UsageError(f"{what} {text[:40]!r} is too large: at most 1024T")
    return size


def add_retention_arguments(parser: argparse.ArgumentParser, default_age: str | None) -> None:
    """`--max-age` and `--max-size`."""
    group = parser.add_argument_group("retention (old data is compacted away, never the newest)")
    age_help = "keep at most this much history in the file: 7d, 12h, 90m"
    if default_age:
        age_help += f" (default {default_age} for recordings in the data directory)"
    group.add_argument("--max-age", metavar="DURATION", default=None, help=age_help)
    group.add_argument(
        "--max-size", metavar="SIZE", help="keep the file under about this size: 500M, 2G"
    )


def retention_from_args(args: argparse.Namespace, default_age: str | None = None) -> Retention:
    """The Retention the options ask for (`default_age` when --max-age is not given)."""
    # `--max-age ""` is a typo, not "no limit": only an absent option takes the default
    age_text = getattr(args, "max_age", None)
    if age_text is None:
        age_text = default_age
    size_text = getattr(args, "max_size", None)
    max_age = parse_duration(age_text) if age_text is not None else None
    max_size = parse_size(size_text) if size_text is not None else None
    every = _RETENTION_EVERY[1]
    if max_age is not None:
        every = min(max(max_age / NS / 4, _RETENTION_EVERY[0]), _RETENTION_EVERY[1])
    return Retention(max_age, max_size, every)


def retention_options(retention: Retention) -> dict[str, int]:
    """Retention as recorded in the file header's options."""
    out = {}
    if retention.max_age is not None:
        out["max_age_ns"] = retention.max_age
    if retention.max_size is not None:
        out["max_size"] = retention.max_size
    return out


class StatusLine:
    """A status shown as one updating line on a terminal, or a line every `interval` s if not."""

    def __init__(self, interval: float = 10.0, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self._last = 0.0
        self._drawn = False

    def show(self, text: str, force: bool = False) -> None:
        """Draw `text` (on a terminal every call; otherwise at most once per interval)."""
        text = safe_line(text)  # quotes type names, contexts, the server's errors
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self._drawn = True
        else:
            now = time.monotonic()
            if not force and now - self._last < self.interval:
                return
            self._last = now
            self.stream.write(text + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (a warning), keeping the status line below it on a terminal."""
        self.clear()
        self.stream.write(safe_line(text) + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the updating line (on a terminal)."""
        if self.tty and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False
