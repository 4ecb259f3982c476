"""`khronoscope live`: browse the current kubeconfig context (the default command).

A cluster session (khronoscope.cluster) feeds the TemporalMap, rows computed by
`printers.row_for`; the browser (khronoscope.tui) runs on the same event loop. `demo` calls
`run_app(args, kubeconfig=...)` with its simulated cluster's kubeconfig.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from typing import Any

from khronoscope.errors import NotBuiltYet
from khronoscope.tui.run import add_browser_arguments, settings_from_args

__all__ = ["add_arguments", "run", "run_app"]


def _cluster() -> Any:
    try:
        from khronoscope.cluster import options, session
    except ImportError:
        return None
    return options, session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The browser's options, and the cluster's once the session exists."""
    add_browser_arguments(parser)
    cluster = _cluster()
    if cluster is not None:
        cluster[0].add_cluster_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Connect, start watching, and browse."""
    return run_app(args)


def run_app(args: argparse.Namespace, kubeconfig: str | None = None) -> int:
    """Browse the cluster `args` (or `kubeconfig`) points at until the user quits."""
    settings = settings_from_args(args)  # bad options fail here, before connecting
    cluster = _cluster()
    if cluster is None:
        raise NotBuiltYet(
            "the browser needs the cluster session (khronoscope.cluster), which is not built "
            "yet; try it on a synthetic cluster with: python -m khronoscope.tui"
        )
    options_mod, session_mod = cluster
    options = options_mod.ClusterOptions.from_args(args)
    if kubeconfig is not None:
        options = dataclasses.replace(options, kubeconfig=kubeconfig)
    return asyncio.run(_browse(session_mod.ClusterSession, options, settings))


async def _browse(session_cls: Any, options: Any, settings: Any) -> int:
    from khronoscope.printers import row_for
    from khronoscope.tui.run import run_app_async

    session = session_cls(options, row_fn=row_for)
    await session.start()  # one-line errors (kubeconfig, unreachable server) before the UI
    try:
        return await run_app_async(session, settings)
    finally:
        await session.close()
