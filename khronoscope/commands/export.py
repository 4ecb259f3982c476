"""`khronoscope export`: not built yet."""

from __future__ import annotations

import argparse

from khronoscope.commands._notbuilt import add_arguments, not_built

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    """Say that this command is not built yet."""
    return not_built("export")
