"""The `khronoscope` command line: parse, dispatch, and turn every failure into one line."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from khronoscope import __version__
from khronoscope.commands import COMMANDS, load
from khronoscope.core.safetext import safe_line
from khronoscope.errors import KhronoscopeError

PROG = "khronoscope"


# argparse takes `-15m` for an option; like a negative number, a relative time is a value. No
# option starts with a digit, so anything that does is a value: `--at -15x` is then a bad time
# (one line saying what a time looks like), not "--at: expected one argument"
_RELATIVE_TIME = re.compile(r"^-\d|^-\.\d")


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line with exit status 2, and reads `--at -15m`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _RELATIVE_TIME

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, safe_line(f"{self.prog}: error: {message}") + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options and one subparser per command."""
    parser = _Parser(
        prog=PROG,
        description="Record a Kubernetes cluster and travel through its past.",
        epilog="Without a command, khronoscope browses the current kubeconfig context live.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        add_arguments, run = load(command)
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m khronoscope`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = {c.name for c in COMMANDS}
    # no command (only options, or nothing): the live browser, as with k9s
    if not argv or (argv[0] not in known and argv[0] not in ("-h", "--help", "--version")):
        argv = ["live", *argv]
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return done.code if isinstance(done.code, int) else 2
    try:
        return int(args.run(args) or 0)
    except KhronoscopeError as err:
        # one line that quotes names, paths and server errors: shown, never obeyed
        print(f"{PROG}: {safe_line(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `khronoscope history F | head`: the reader left; say nothing, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as err:  # the promise is one line, never a traceback
        if os.environ.get("KHRONOSCOPE_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(err).__name__}: {safe_line(str(err))} "
            "(set KHRONOSCOPE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 70
