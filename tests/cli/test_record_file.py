"""`khronoscope record` and what happens to its file: deleted or moved while it is written, a full
disk before anything could be written, and the stop time that ends the recording's range."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.sim import SimClusterThread
from tests.cli.procs import Proc, configmap, synced, term
from tests.tmpfs import small_tmpfs

pytestmark = pytest.mark.timeout(120)
FUTURE = 2**62
TYPES = "pods,deployments,configmaps,namespaces"


@pytest.fixture
def sim() -> Iterator[SimClusterThread]:
    with SimClusterThread(scenario="default", autorun=False, bookmark_interval=0.5) as s:
        s.advance(60)
        yield s


def record(sim: SimClusterThread, path: Path) -> Proc:
    return Proc(
        "record", "-o", str(path), "--kubeconfig", str(sim.kubeconfig_path),
        "--include", TYPES, "--status-every", "0.3",
    )  # fmt: skip


def _stopped(p: Proc, timeout: float = 30.0) -> tuple[int, str]:
    """Wait for a recorder that stops by itself."""
    code = p.p.wait(timeout)
    p._t.join(10)
    while not p._q.empty():
        line = p._q.get_nowait()
        if line is not None:
            p.lines.append(line)
    return code, "\n".join(p.lines)


def test_a_recording_deleted_while_recording_stops_it_with_one_line(sim, tmp_path):
    path = tmp_path / "gone.khr"
    p = record(sim, path)
    try:
        p.wait_line(synced)
        shutil.rmtree(path)  # a recording is a directory of segments
        sim.call(sim.sim.store.create, "configmaps", configmap("after-unlink", v="1"))
        code, err = _stopped(p)
    finally:
        p.kill()
    assert code == 1, err
    last = err.splitlines()[-1]
    assert last.startswith(f"khronoscope: {path} was deleted while recording: recording stopped")
    assert "holds" not in err and "Traceback" not in err
    assert not path.exists()


def test_a_recording_moved_while_recording_stops_it_and_the_moved_file_is_whole(sim, tmp_path):
    path = tmp_path / "here.khr"
    moved = tmp_path / "elsewhere.khr"
    p = record(sim, path)
    try:
        p.wait_line(synced)
        sim.call(sim.sim.store.create, "configmaps", configmap("before-move", v="1"))
        time.sleep(1.5)
        path.rename(moved)
        code, err = _stopped(p)
    finally:
        p.kill()
    assert code == 1, err
    last = err.splitlines()[-1]
    assert f"{path} was moved to {moved} while recording: recording stopped" in last
    assert f"{moved} keeps everything up to" in last and "holds" not in err
    src = open_any(moved)
    try:
        assert src.problems() == []  # closed properly where it is now
        assert src.stop_t is not None
        key = ObjectKey("configmaps", "default", "before-move")
        assert src.tmap.get(key, FUTURE) is not None
    finally:
        src.close()


def test_the_range_ends_when_the_recorder_stopped_not_at_the_last_change(sim, tmp_path):
    path = tmp_path / "quiet.khr"
    p = record(sim, path)
    try:
        p.wait_line(synced)
        sim.call(sim.sim.store.create, "configmaps", configmap("last", v="1"))
        time.sleep(4)  # nothing changes for a while, then the recorder stops
        stopping = time.time_ns()
        code, _out, err = term(p)
    finally:
        p.kill()
    assert code == 0, err
    last_change = open_any(path).tmap.last_t
    # a moment after the last change, before the stop, is in the recording
    between = (last_change + stopping) // 2
    assert between > last_change + 10**9
    repo = tmp_path / "repo"
    done = subprocess.run(
        [
            sys.executable, "-m", "khronoscope", "export", "--recording", str(path), "--repo",
            str(repo), "--at", format_iso(between), "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    src = open_any(path)
    try:
        assert src.stop_t is not None and src.stop_t >= stopping
        assert src.end_t == src.stop_t
        # the watch states written at the stop are inside the range, not after its end
        assert all(s.since <= src.end_t for s in src.type_status().values())
    finally:
        src.close()


@pytest.mark.skipif(not shutil.which("mount"), reason="needs mount for a small tmpfs")
def test_a_disk_full_before_the_header_leaves_no_empty_file(sim, tmp_path):
    with small_tmpfs(tmp_path, "64k") as mnt:
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # every byte of it
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        path = mnt / "r.khr"
        p = record(sim, path)
        try:
            code, err = _stopped(p)
        finally:
            p.kill()
        assert code == 1, err
        last = err.splitlines()[-1]
        assert last == (
            f"khronoscope: disk full creating {path}: nothing was recorded (the empty "
            "recording was removed)"
        ), err
        assert not path.exists()


def test_an_empty_file_left_by_an_older_recorder_is_named_for_what_it_is(tmp_path):
    empty = tmp_path / "old.khr"
    empty.write_bytes(b"")
    with pytest.raises(NotARecording) as err:
        RecordingReader(empty)
    assert "is empty (0 bytes): nothing was ever written to it" in str(err.value)
