"""`khronoscope demo` as a user runs it: `--no-ui` prints a kubeconfig path first, serves and stops
cleanly; without it the app opens on the simulated cluster."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def demo(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "khronoscope", "demo", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], Path]]:
    proc = demo("--no-ui", "--scenario", "quiet", "--speed", "10")
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    try:
        yield proc, Path(first)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # lets it remove its kubeconfig
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_first_line_is_a_kubeconfig_kubectl_can_use(
    served: tuple[subprocess.Popen[str], Path],
) -> None:
    _proc, kubeconfig = served
    assert kubeconfig.is_file() and kubeconfig.stat().st_mode & 0o077 == 0
    assert not str(kubeconfig).startswith(str(Path.home() / ".kube"))
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "pods", "-A", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert [p["metadata"]["name"] for p in json.loads(out.stdout)["items"]] == ["hello"]


def test_sigterm_exits_cleanly_and_removes_the_kubeconfig(
    served: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, kubeconfig = served
    assert kubeconfig.is_file()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not kubeconfig.exists()


def test_sigint_exits_cleanly(served: tuple[subprocess.Popen[str], Path]) -> None:
    proc, _ = served
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "Traceback" not in err


def test_unknown_scenario_is_one_line_and_nonzero() -> None:
    proc = demo("--no-ui", "--scenario", "nope")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out == ""
    assert err.strip().splitlines() == [
        "khronoscope: unknown scenario 'nope' (known: default, quiet, scale)"
    ]


def test_port_in_use_is_one_line_and_nonzero() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = demo("--no-ui", "--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is already in use" in lines[0]


def test_list_scenarios() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "khronoscope", "demo", "--list-scenarios"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0
    assert [ln.split()[0] for ln in out.stdout.splitlines()] == ["default", "scale", "quiet"]


def test_demo_opens_the_app_on_the_simulated_cluster(tmp_path: Path) -> None:
    # in a terminal (tmux), as a user runs it: the app shows the scenario's pod; ctrl+c quits
    assert shutil.which("tmux"), "tmux is needed to drive the app as a user does"
    tmux = ["tmux", "-L", f"khronoscope-demo-{tmp_path.name}"]
    rc = tmp_path / "rc"
    line = (
        f"{sys.executable} -m khronoscope demo --scenario quiet --no-record -c pods; "
        f"echo $? > {rc}; sleep 60"
    )
    subprocess.run(
        [*tmux, "new", "-d", "-s", "demo", "-x", "120", "-y", "30", "-c", str(ROOT), line],
        check=True,
    )
    try:
        screen = ""
        deadline = time.monotonic() + 60
        while "hello" not in screen and time.monotonic() < deadline:
            time.sleep(0.5)
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "demo"], capture_output=True, text=True
            ).stdout
        assert "khronoscope-sim" in screen and "LIVE" in screen, screen
        row = next(ln for ln in screen.splitlines() if "hello" in ln)
        assert row.split()[:4] == ["demo", "hello", "1/1", "Running"], screen
        subprocess.run([*tmux, "send-keys", "-t", "demo", "C-c"], check=True)
        deadline = time.monotonic() + 30
        while not rc.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc.read_text().strip() == "0"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
