"""The incident workflow typed into a real terminal (tmux) as a k9s user types it: keys sent at
once by `tmux send-keys` (a burst, as a paste or a fast typist), the whole-row filter, k9s
aliases, `:xray` and the trouble keys, over a recording of the incident scenario opened with
`khronoscope open`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import Change
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from tests import testing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The incident scenario as a recording file."""
    source = testing.incident_source()
    path = tmp_path_factory.mktemp("tmux") / "incident.khr"
    writer = RecordingWriter.create(
        path, source.info, start=testing.T0, writer_options=WriterOptions(autoflush=False)
    )
    writer.set_types(testing.T0, source.types.values())
    for ref in source.tmap.changes():
        writer.append_change(Change(ref.t, ref.key, ref.kind, source.tmap.get(ref.key, ref.t)))
    writer.close()
    return path


class Terminal:
    """One tmux server running `khronoscope open` in a 150x40 pane."""

    def __init__(self, socket: str) -> None:
        self.tmux = ["tmux", "-L", socket, "-f", "/dev/null"]

    def start(self, recording: Path, seconds: float, home: Path) -> None:
        env = f"PYTHONPATH={os.environ.get('PYTHONPATH', ROOT)} XDG_CONFIG_HOME={home}"
        env += f" XDG_STATE_HOME={home} XDG_DATA_HOME={home}"
        at = format_iso(testing.at(seconds))
        cmd = (
            f"cd {ROOT} && env -u COLUMNS -u LINES {env} {sys.executable} -m khronoscope open "
            f"{recording} --utc --at {at}; sleep 30"
        )
        subprocess.run([*self.tmux, "new-session", "-d", "-x", "150", "-y", "40", cmd], check=True)
        subprocess.run([*self.tmux, "set", "-s", "escape-time", "0"], check=True)
        self.wait(lambda s: "pods [all]" in s and "PAUSED" in s, "the pods of the recording")

    def screen(self) -> str:
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p"], capture_output=True, text=True
        ).stdout

    def send(self, *keys: str) -> None:
        """One `send-keys`: every key written to the terminal at once."""
        subprocess.run([*self.tmux, "send-keys", *keys], check=True)

    def wait(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = self.screen()
        while not check(screen):
            if time.monotonic() > deadline:
                raise AssertionError(f"never on screen: {what}\n{screen}")
            time.sleep(0.2)
            screen = self.screen()
        return screen

    def settle(self) -> str:
        """The screen once it stopped changing (nothing more arrives from the keys sent)."""
        before = self.screen()
        while True:
            time.sleep(0.5)
            now = self.screen()
            if now == before:
                return now
            before = now

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


@pytest.fixture
def term(incident: Path, tmp_path: Path) -> Iterator[Callable[[float], Terminal]]:
    assert shutil.which("tmux"), "tmux is needed to type into the app as a user does"
    opened: list[Terminal] = []

    def start(seconds: float) -> Terminal:
        t = Terminal(f"khr-tui-{os.getpid()}-{tmp_path.name}")
        opened.append(t)
        t.start(incident, seconds, tmp_path)
        return t

    yield start
    for t in opened:
        t.close()


def _header(screen: str) -> str:
    return screen.splitlines()[1] if screen.count("\n") > 1 else ""


def test_a_command_sent_at_once_opens_the_view_and_nothing_else(term):
    # `:deploy⏎` in one send-keys: before, d opened describe, p played, o opened the logs
    t = term(155)
    t.send(":deploy shop", "Enter")
    screen = t.wait(lambda s: _header(s).startswith(" deployments.apps"), "the deployments view")
    screen = t.settle()
    assert "⏸ PAUSED" in screen and "▶ PLAY" not in screen
    assert "Name:" not in screen  # no describe opened
    assert "deployments.apps [shop]" in screen and " api " in screen
    t.send("t-1m", "Enter", ":pods", "Enter")
    screen = t.wait(lambda s: _header(s).startswith(" pods"), "the pods view")
    assert "09:01:35" in t.settle()  # the go-to took the -1m typed in the same burst


def test_slash_filters_the_whole_row_as_typed(term):
    t = term(100)
    t.send("/CrashLoop", "Enter")  # a STATUS, not a name
    screen = t.wait(lambda s: "1/5 rows  filter: CrashLoop" in s, "one row left")
    rows = [ln for ln in screen.splitlines() if ln.startswith(" shop ") or " api-" in ln]
    assert any("api-7f8b9-x2x4q" in ln and "CrashLoopBackOff" in ln for ln in rows), screen
    # Escape alone: ESC and a key in one write read as alt+key (any terminal app's rule)
    t.send("Escape")
    t.settle()
    t.send(":events", "Enter", "/Warning", "Enter")
    screen = t.wait(lambda s: _header(s).startswith(" events"), "the events view")
    screen = t.settle()
    body = [ln for ln in screen.splitlines()[3:] if "BackOff" in ln or "Normal" in ln]
    assert body and all("Warning" in ln for ln in body), screen


def test_kubectl_short_names_and_k9s_aliases(term):
    t = term(155)
    for word, header in (("sec", " secrets"), ("dp", " deployments.apps"), ("cm", " configmaps")):
        t.send(f":{word}", "Enter")
        t.wait(lambda s, h=header: _header(s).startswith(h), f":{word} -> {header}")
    t.send(":aliases", "Enter")
    screen = t.wait(lambda s: "dp (k9s)" in s, "the aliases view")
    assert "deploy, deployment" in screen


def test_xray_tree_in_a_terminal(term):
    t = term(155)
    t.send(":xray dp shop", "Enter")
    screen = t.wait(lambda s: "deployment shop/web" in s, "the xray tree")
    assert "└─ replicaset web-5d9c7" in screen or "├─ replicaset web-5d9c7" in screen
    assert "pod web-5d9c7-ddddd  1/1  Running" in screen


def test_trouble_keys_step_in_a_terminal(term):
    t = term(0)
    t.send("x")
    screen = t.wait(lambda s: "09:01:00" in s.splitlines()[0], "the first trouble (60 s)")
    assert "CrashLoopBackOff" in screen
    t.send("x")
    t.wait(lambda s: "09:01:30" in s.splitlines()[0], "the next trouble (90 s)")
    t.send("X")
    t.wait(lambda s: "09:01:00" in s.splitlines()[0], "back to the first (60 s)")
