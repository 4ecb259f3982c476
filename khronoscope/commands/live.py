"""`khronoscope live`: browse the current kubeconfig context (the default command).

The browser and its options are built (khronoscope.tui); what is missing is the cluster
session feeding it, which lands with the `cluster` branch. Wiring, once it has landed:

    async def main():
        session = ClusterSession(options, row_fn=khronoscope.printers.row_for)
        await session.start()
        try:
            return await run_app_async(session, settings)
        finally:
            await session.close()
"""

from __future__ import annotations

import argparse

from khronoscope.errors import NotBuiltYet
from khronoscope.tui.run import add_browser_arguments, settings_from_args

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The browser's options (the cluster's options come with the session)."""
    add_browser_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Check the options, then say that the live session is not wired yet."""
    settings_from_args(args)
    raise NotBuiltYet(
        "'khronoscope live' needs the cluster session, which is not built yet; "
        "try the browser on a synthetic cluster with: python -m khronoscope.tui"
    )
