"""`--cache-mb`: the memory budget for history read lazily from a recording (open, history,
diff, export, drift)."""

from __future__ import annotations

import argparse
from typing import Any

from khronoscope.recording.segments.source import DEFAULT_CACHE_MB


def add_cache_argument(parser: Any) -> None:
    """Add `--cache-mb MB` to a parser or argument group."""
    parser.add_argument(
        "--cache-mb",
        type=_cache_mb,
        default=None,
        metavar="MB",
        help=f"memory for history read from a recording (default {DEFAULT_CACHE_MB})",
    )


def _cache_mb(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    if not 16 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 16 and 1000000 (MB)")
    return value
