"""Every command over a hostile recording (and `record` against a hostile cluster): the raw bytes
on stdout and stderr hold no control byte of cluster text, and the text itself is still there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from khronoscope.core.timefmt import format_iso
from khronoscope.export import export_moment
from khronoscope.recording.source import open_recording
from khronoscope.sim import SimClusterThread

from .conftest import ROOT, cli_leaks, run
from .corpus import END, NAMES, PAYLOADS, N, at, hostile, leaks, marker, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_recording(tmp_path_factory.mktemp("hostile") / "hostile.khr")


@pytest.fixture(scope="module")
def git_repo(recording, tmp_path_factory) -> Path:
    """Git holding the recording at 10 s: the hostile annotations added since differ."""
    repo = tmp_path_factory.mktemp("git") / "manifests"
    export_moment(open_recording(str(recording)), at(10), repo)
    return repo


START = "2026-03-14T09:00:00Z"
AT_10S = "2026-03-14T09:00:10Z"
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    # name: (arguments after the file, markers that must be in stdout+stderr)
    "history": ([], ["p00-", "d22-", "configmaps/shop/managed"]),
    "history --diff": (["--diff"], ["a00-", "h22-", "g22-", "c22-"]),
    "history of one object --diff": (["configmaps/shop/managed", "--diff"], ["g22-", "h22-"]),
    "history --json": (["--json"], []),
    "diff": ([START, "end"], ["+ pods/", "p00-", "d22-"]),
    "diff --json": ([START, "end", "--json"], []),
    "diff of one object": ([AT_10S, "end", "configmaps/shop/managed"], ["h22-"]),
    # managedFields are hidden by default: --all-fields prints their managers too
    "diff of one object, all fields": (
        [AT_10S, "end", "configmaps/shop/managed", "--all-fields"],
        ["h22-", "g22-"],
    ),
    "history of an ambiguous name (error)": (["configmaps/twin"], ["n00-", "n22-"]),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_history_and_diff_print_cluster_text_inert(name, recording):
    argv, expected = COMMANDS[name]
    command = "diff" if name.startswith("diff") else "history"
    code, out, err = run(command, str(recording), *argv)
    assert code in (0, 1, 2), err
    assert not cli_leaks(out), cli_leaks(out)
    assert not cli_leaks(err), cli_leaks(err)
    both = out + err
    assert all(m in both for m in expected), [m for m in expected if m not in both]
    if "error" in name:
        assert code == 2 and len(err.splitlines()) == 1
    if "--json" in name:
        doc = json.loads(out)
        # the JSON is the same data: every hostile name is there, exactly
        names = json.dumps(doc)
        for i in range(N):
            assert json.dumps(hostile("p", i))[1:-1] in names, NAMES[i]


def test_drift_prints_cluster_text_inert(recording, git_repo):
    code, out, err = run("drift", "--recording", str(recording), "--repo", str(git_repo))
    assert code == 1, err
    assert not cli_leaks(out) and not cli_leaks(err), cli_leaks(out) + cli_leaks(err)
    assert "cluster cluster-" in out and "h22-" in out and "configmaps/shop/managed" in out


def test_export_messages_print_cluster_text_inert(recording, tmp_path):
    code, out, err = run("export", "--recording", str(recording), "--repo", str(tmp_path / "r"))
    assert code == 0, err
    assert not cli_leaks(out) and not cli_leaks(err), cli_leaks(out) + cli_leaks(err)
    assert "exported cluster-" in out
    # a range: one commit per change, the message names the cluster
    args = ("--recording", str(recording), "--repo", str(tmp_path / "r2"))
    code, out, err = run("export", *args, "--from", format_iso(END - 5 * 10**9))
    assert code == 0, err
    assert not cli_leaks(out) and not cli_leaks(err), cli_leaks(out) + cli_leaks(err)
    assert "exported cluster-" in out


def test_open_prints_its_lines_inert_and_the_app_draws_nothing_raw(recording, tmp_path):
    """`open` in a real terminal (tmux): the pane's title and the clipboard stay untouched, and
    what the pane shows holds no control character of cluster text."""
    if subprocess.run(["tmux", "-V"], capture_output=True).returncode != 0:
        pytest.fail("tmux is needed for the real-terminal check")
    sock = f"inject-{os.getpid()}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    env = f"PYTHONPATH={os.environ.get('PYTHONPATH', ROOT)}"
    # the pane's size, not the COLUMNS/LINES this process may have been given
    cmd = f"cd {ROOT} && env -u COLUMNS -u LINES {env} {sys.executable} -m khronoscope open"
    cmd += f" {recording} --utc"
    subprocess.run([*tmux, "new-session", "-d", "-x", "200", "-y", "50", cmd], check=True)
    try:
        subprocess.run([*tmux, "set", "-g", "set-clipboard", "on"], check=True)
        subprocess.run([*tmux, "set", "-g", "allow-rename", "on"], check=True)
        subprocess.run([*tmux, "set", "-s", "escape-time", "0"], check=True)
        subprocess.run([*tmux, "resize-window", "-x", "200", "-y", "50"], check=True)

        def pane(*fmt: str) -> str:
            return subprocess.run(
                [*tmux, *fmt], capture_output=True, text=True, errors="surrogateescape"
            ).stdout

        title = pane("display", "-p", "#{pane_title}")
        deadline = time.monotonic() + 60
        while "p00-" not in pane("capture-pane", "-p") and time.monotonic() < deadline:
            time.sleep(0.3)
        screens = [pane("capture-pane", "-e", "-p")]
        # the last pod (victim): describe it, its events; the bookmarks; its logs
        for keys in ("G", "d", "G", "Escape", "'", "Escape", "o"):
            subprocess.run([*tmux, "send-keys", keys], check=True)
            time.sleep(1.0)
            screens.append(pane("capture-pane", "-e", "-p"))
        drawn = "\n".join(screens)
        for shown in ("p00-", "Name:             victim", "m22-", "b22-", "o22-"):
            assert shown in drawn, shown
        # tmux's own styles (SGR) are what capture-pane -e adds; nothing else may be there
        import re

        plain = re.sub(r"\x1b\[[0-9;:]*m", "", drawn).replace("\n", "")
        assert not leaks(plain), leaks(plain)
        assert pane("display", "-p", "#{pane_title}") == title  # OSC 0/2 did nothing
        assert "pwned" not in pane("display", "-p", "#{pane_title}")
        assert pane("list-buffers") == ""  # OSC 52 wrote no clipboard
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_record_status_lines_quote_a_hostile_cluster_inert(tmp_path):
    """`record` against a cluster whose kubeconfig names are hostile: its lines stay inert."""
    context = "ctx-" + PAYLOADS["osc52-clipboard"] + PAYLOADS["c1-csi-8bit"]
    with SimClusterThread(scenario="quiet", autorun=False, context=context) as sim:
        path = tmp_path / "r.khr"
        argv = ["record", "-o", str(path), "--kubeconfig", str(sim.kubeconfig_path)]
        argv += ["--include", "pods,configmaps", "--status-every", "0.2"]
        p = subprocess.Popen(
            [sys.executable, "-m", "khronoscope", *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # stop it once it records (a fixed sleep could end it before its handlers were set)
        assert p.stderr is not None
        first = b""
        deadline = time.monotonic() + 60
        while b"recording context" not in first and time.monotonic() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            first += line
        time.sleep(1)  # a few status lines (every 0.2 s)
        p.send_signal(signal.SIGTERM)
        out_b, err_b = p.communicate(timeout=60)
    err = (first + err_b).decode("utf-8", "surrogateescape")
    assert p.returncode == 0, err
    assert "recording context ctx-" in err and "stopped;" in err
    assert not cli_leaks(err) and not cli_leaks(out_b.decode()), cli_leaks(err)


def test_an_error_quoting_what_was_typed_is_one_inert_line(recording):
    code, _, err = run("history", str(recording), f"configmaps/{marker('p', 0)}\x1b]2;x\x07")
    assert code == 2
    assert not cli_leaks(err), cli_leaks(err)
    assert len(err.splitlines()) == 1 and "no such object" in err
