"""Running khronoscope commands in subprocesses as a user would, and reading what they print."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.sim.cluster import SimCluster

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A khronoscope subprocess whose stderr lines are collected by a thread (no blocking)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "khronoscope", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 30.0) -> str:
        """The first stderr line (from now on) for which `pred` holds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such line; stderr so far: {self.lines[-10:]}")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"process ended; stderr: {self.lines[-10:]}")
            self.lines.append(line)
            if pred(line):
                return line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> tuple[int, str, str]:
        """Send `sig`, wait; (exit status, stdout, all of stderr)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            code = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise
        out = self.p.stdout.read() if self.p.stdout else ""
        self._t.join(10)
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code, out, "\n".join(self.lines)

    def kill(self) -> None:
        """Make sure the process is gone."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def server_keys(sim: SimCluster, type_name: str) -> set[ObjectKey]:
    """The keys the simulated server holds for a type (its store, directly)."""
    served = sim.registry.by_name(type_name)
    storage = served.storage if served is not None else type_name
    return {
        ObjectKey(type_name, o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for o in sim.store.objects(storage)
    }


def configmap(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    """A ConfigMap manifest."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": dict(data),
    }


def synced(line: str) -> bool:
    """A record status line once every type has been listed."""
    return line.startswith("recording ") and "types watched" in line and "syncing" not in line


def term(p: Proc) -> tuple[int, str, str]:
    """SIGTERM and wait."""
    return p.stop(signal.SIGTERM)
