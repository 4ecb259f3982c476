"""Shared body of the commands whose issue has not landed yet."""

from __future__ import annotations

import argparse

from khronoscope.errors import NotBuiltYet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Accept anything, so the one-line message is what the user sees."""
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def not_built(name: str) -> int:
    """Raise the one-line 'not built yet' error for command `name`."""
    raise NotBuiltYet(f"'khronoscope {name}' is not built yet")
