"""The command line as a user meets it: version, help, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from khronoscope import __version__
from khronoscope.commands import COMMANDS


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *args], capture_output=True, text=True, timeout=60
    )


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"khronoscope {__version__}"


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert command.name in out.stdout


def test_unknown_option_is_one_line_and_exit_2():
    out = run("--no-such-option")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_relative_time_is_a_value_not_an_option():
    from khronoscope.cli import build_parser

    args = build_parser().parse_args(["export", "--at", "-15m", "--repo", "/tmp/x"])
    assert args.at == "-15m"


def test_demo_captures_logs_of_a_selector_like_the_live_command():
    from khronoscope.cli import build_parser
    from khronoscope.cluster.options import ClusterOptions

    args = build_parser().parse_args(["demo", "--logs", "shop", "--logs", "-l app=api"])
    assert ClusterOptions.from_args(args).logs == ("shop", "-l app=api")


def test_start_up_does_not_import_the_kubernetes_client():
    # kubernetes_asyncio and aiohttp take about a second to import: `--help`, `history` or
    # `export --recording` must not wait for them; they come with the first cluster session
    code = (
        "import sys, khronoscope.cli; khronoscope.cli.build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes_asyncio', 'aiohttp'}))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
