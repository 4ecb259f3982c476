"""`khronoscope demo`: a simulated cluster to try khronoscope (or kubectl) against.

`--no-ui` only serves: the first line printed is the kubeconfig path, then a short status;
it serves until Ctrl-C or SIGTERM. Without `--no-ui` the app opens against the simulated
cluster through the same code path as a real one (`live.run_app`), and records it like one
(to the data directory unless `--no-record`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

from khronoscope.argtypes import number
from khronoscope.commands.live import add_recording_arguments, recording_plan, run_app
from khronoscope.errors import KhronoscopeError, UsageError

if TYPE_CHECKING:  # the simulator (aiohttp) is imported only when a demo runs
    from khronoscope.sim import SimCluster

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the demo options (and the browser's: --at, -c, --keymap, --utc)."""
    from khronoscope.tui.run import add_browser_arguments

    add_browser_arguments(parser)
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help="only serve the simulated cluster; print its kubeconfig path first, then serve",
    )
    parser.add_argument(
        "--scenario",
        default="default",
        metavar="NAME",
        help="scenario to play, with options as NAME:key=value,... (default: default)",
    )
    parser.add_argument("--list-scenarios", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--speed",
        type=number(0, 10000, low_open=True),
        default=1.0,
        help="scenario seconds per wall second (default 1, at most 10000)",
    )
    parser.add_argument(
        "--seed", type=number(0, 2**63 - 1, integer=True), default=1, help="seed (default 1)"
    )
    parser.add_argument(
        "--port",
        type=number(0, 65535, integer=True),
        default=0,
        help="port on 127.0.0.1 (default: a free one)",
    )
    parser.add_argument(
        "--logs",
        action="append",
        metavar="SELECTOR",
        help="capture the logs of every matching pod as it appears, e.g. --logs shop "
        "(repeatable; as on `khronoscope`)",
    )
    # the app records the demo too (to the data dir, named after the demo's context)
    add_recording_arguments(parser)


def _list_scenarios() -> int:
    from khronoscope.sim.scenarios import SCENARIOS

    for name, cls in SCENARIOS.items():
        extra = f"  [options: {cls.options_help}]" if cls.options_help else ""
        print(f"{name:10} {cls.summary}{extra}")
    return 0


def _build(args: argparse.Namespace) -> SimCluster:
    from khronoscope.sim import SimCluster, SimError

    if args.speed <= 0:
        raise UsageError("--speed must be greater than 0")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    try:
        return SimCluster(args.scenario, seed=args.seed, speed=args.speed, port=args.port)
    except SimError as err:
        raise UsageError(str(err)) from None


async def _serve(sim: SimCluster, args: argparse.Namespace) -> int:
    from khronoscope.sim import SimError

    try:
        await sim.start()
    except SimError as err:
        raise KhronoscopeError(_port_hint(str(err))) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        _say(str(sim.kubeconfig_path))
        _say(
            f"serving scenario {args.scenario!r} (seed {args.seed}, speed {args.speed:g}x) "
            f"at {sim.url}; try: kubectl --kubeconfig {sim.kubeconfig_path} get pods -A"
        )
        _say("press Ctrl-C to stop")
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await sim.close()
    _say("stopped")
    return 0


def _say(line: str) -> None:
    """Print a status line; a reader that went away (`| head -1`) must not stop the server."""
    try:
        print(line, flush=True)
    except (BrokenPipeError, ValueError):
        # stdout is gone: point it at /dev/null so the interpreter's exit flush stays quiet
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _with_app(args: argparse.Namespace) -> int:
    # the app runs its own event loop in this thread; the cluster gets a thread of its own
    from khronoscope.sim import SimClusterThread, SimError

    sim = SimClusterThread(scenario=args.scenario, seed=args.seed, speed=args.speed, port=args.port)
    try:
        sim.start()
    except SimError as err:
        sim.stop()
        raise KhronoscopeError(_port_hint(str(err))) from None
    try:
        return run_app(args, kubeconfig=str(sim.kubeconfig_path))
    finally:
        sim.stop()


def _port_hint(message: str) -> str:
    if "already in use" in message:
        return message + " (is another khronoscope demo running? pick another --port)"
    return message


def run(args: argparse.Namespace) -> int:
    """Serve the simulated cluster (and open the app on it unless --no-ui)."""
    if args.list_scenarios:
        return _list_scenarios()
    if args.no_ui:
        return asyncio.run(_serve(_build(args), args))
    _build(args)  # validate the scenario and options before anything starts
    from khronoscope.tui.run import settings_from_args

    settings_from_args(args)  # a bad --at or --keymap fails before the cluster starts
    recording_plan(args)  # and so do --record, --max-age and --max-size
    return _with_app(args)


if __name__ == "__main__":  # pragma: no cover - convenience
    from khronoscope.cli import main

    sys.exit(main(["demo", *sys.argv[1:]]))
