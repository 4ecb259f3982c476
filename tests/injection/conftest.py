"""Shared by the injection tests: the terminal the app writes to, driving it, running commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.drivers import headless_driver

from khronoscope.tui.widgets.commandline import PromptInput

from .corpus import leaks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def terminal(monkeypatch) -> list[str]:
    """Everything the app writes to its terminal, frame by frame."""
    written: list[str] = []

    class CapturingDriver(headless_driver.HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False  # so that the app renders to this driver as to a terminal

        def write(self, data: str) -> None:
            written.append(data)

    monkeypatch.setattr(headless_driver, "HeadlessDriver", CapturingDriver)
    return written


async def settle(pilot, n: int = 3) -> None:
    """Let the app process what it was sent (a few idle rounds)."""
    for _ in range(n):
        await pilot.pause()


async def command(app, pilot, text: str) -> None:
    """A `:` command: the prompt opened by its key, the line filled in, Enter."""
    await pilot.press(":")
    app.screen.query_one(PromptInput).value = text
    await pilot.press("enter")
    await settle(pilot)


def run(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """`khronoscope ARGS` in a subprocess; (status, stdout, stderr) decoded from the raw bytes
    (undecodable bytes kept as surrogates, so nothing is hidden)."""
    p = subprocess.run(
        [sys.executable, "-m", "khronoscope", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    return (
        p.returncode,
        p.stdout.decode("utf-8", "surrogateescape"),
        p.stderr.decode("utf-8", "surrogateescape"),
    )


def cli_leaks(text: str) -> list[str]:
    """Control bytes in a command's output other than its own line breaks."""
    return leaks(text.replace("\n", ""))
