"""One module per command: `add_parser(subparsers)` declares it, `run(args)` runs it.

Keeping each command in its own module lets them grow without touching each other or cli.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help and the module that implements it."""

    name: str
    help: str
    module: str


COMMANDS: list[Command] = [
    Command("live", "browse the current kubeconfig context live (the default)", "live"),
    Command("demo", "try khronoscope against a built-in simulated cluster", "demo"),
    Command("record", "record a cluster headless to a file or object storage", "record"),
    Command("open", "replay a recording offline", "open"),
    Command("ls", "list the recordings under an s3:// prefix or a directory", "ls"),
    Command("history", "print the changes of a recording (or one object)", "history"),
    Command("diff", "print what changed between two moments of a recording", "diffcmd"),
    Command("export", "commit a moment (or a range) of the cluster to Git", "export"),
    Command("drift", "compare a moment of the cluster with manifests in Git", "drift"),
    Command("convert", "rewrite a v0.1 recording file as a segmented recording", "convert"),
    Command("import", "import history from kube-apiserver audit logs", "importcmd"),
]


def load(command: Command) -> tuple[Callable[[argparse.ArgumentParser], None], Callable]:
    """The (add_arguments, run) pair of a command's module."""
    module = import_module(f"khronoscope.commands.{command.module}")
    return module.add_arguments, module.run
