"""Full disks, bad files, and following a recording that is still being written."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from khronoscope.core.source import SourceInfo
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import (
    FileOutput,
    RecordingStopped,
    RecordingWriter,
    WriterOptions,
)
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import assert_same, live_until, record
from tests.recording.scenario import changes


class FullDisk(FileOutput):
    """A real file that runs out of space after `room` bytes (ENOSPC mid-block, as a disk does)."""

    def __init__(self, path: Path, room: int) -> None:
        super().__init__(path)
        self.room = room

    def write_all(self, data: bytes) -> None:
        if len(data) > self.room:
            os.write(self.fd, data[: self.room])  # a torn block, as a real full disk leaves
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        super().write_all(data)


def _fill(w: RecordingWriter, seed: int = 3, count: int = 5000) -> tuple[list, Exception | None]:
    """Append until the writer fails; returns the changes attempted (the last may be on disk)."""
    out = []
    for c in changes(seed, count, objects=80):
        out.append(c)
        try:
            w.append_change(c)
        except KhronoscopeError as err:
            return out, err
    return out, None


def test_full_disk_stops_with_one_clear_line_and_keeps_what_was_written(tmp_path):
    path = tmp_path / "full.khr"
    opts = WriterOptions(block_size=8192, keyframe_changes=400, keyframe_ratio=0, autoflush=False)
    w = RecordingWriter(path, _header(), opts, output=FullDisk(path, 200_000))
    written, err = _fill(w)
    assert isinstance(err, RecordingStopped)
    msg = str(err)
    assert msg.startswith("disk full writing") and "\n" not in msg
    assert "recording stopped; the file keeps everything up to" in msg
    with pytest.raises(RecordingStopped):
        w.append_change(written[0])  # stays stopped
    w.close()
    with RecordingReader(path) as reader:
        assert reader.report() == []  # the torn block was cut off
        n = reader.change_count
        assert f"({n} changes)" in msg
        tmap = TemporalMap()
        load_into(reader, tmap)
    assert 0 < n <= len(written)
    assert_same(live_until(written, n), tmap)


def _header() -> dict:
    from khronoscope.recording.writer import make_header

    return make_header(SourceInfo("c"), 0)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount")
def test_a_real_full_tmpfs(tmp_path):
    mnt = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        path = mnt / "r.khr"
        opts = WriterOptions(
            block_size=8192, keyframe_changes=300, keyframe_ratio=0, autoflush=False
        )
        w = RecordingWriter(path, _header(), opts)
        written, err = _fill(w, count=20000)
        assert isinstance(err, RecordingStopped) and "disk full" in str(err)
        w.close()
        with RecordingReader(path) as reader:
            assert reader.report() == []
            n = reader.change_count
            tmap = TemporalMap()
            load_into(reader, tmap)
        assert n > 0
        assert_same(live_until(written, n), tmap)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_bad_files_are_one_clear_error(tmp_path):
    with pytest.raises(NotARecording, match="no such file"):
        RecordingReader(tmp_path / "missing.khr")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(NotARecording, match="is not a khronoscope recording"):
        RecordingReader(tmp_path / "notes.txt")
    with pytest.raises(NotARecording, match="is a directory"):
        RecordingReader(tmp_path)
    newer = bytearray(fmt.pack_file_header({"format": 2}))
    newer[8:10] = (fmt.FORMAT_VERSION + 1).to_bytes(2, "little")
    (tmp_path / "new.khr").write_bytes(bytes(newer))
    with pytest.raises(NotARecording, match="newer khronoscope"):
        RecordingReader(tmp_path / "new.khr")


def test_a_recording_is_never_overwritten(tmp_path):
    rec = record(tmp_path / "r.khr", count=50)
    before = rec.path.read_bytes()
    with pytest.raises(KhronoscopeError, match="already exists"):
        RecordingWriter.create(rec.path, SourceInfo("c"))
    assert rec.path.read_bytes() == before


def test_an_empty_recording_opens(tmp_path):
    w = RecordingWriter.create(tmp_path / "e.khr", SourceInfo("empty"))
    w.close()
    src = RecordingSource(tmp_path / "e.khr")
    src.load_all()
    assert src.tmap.change_count == 0 and src.end_t is None


def test_follow_picks_up_blocks_as_the_recorder_writes_them(tmp_path):
    path = tmp_path / "f.khr"
    opts = WriterOptions(block_size=4096, keyframe_changes=300, keyframe_ratio=0, autoflush=False)
    w = RecordingWriter(path, _header(), opts)
    stream = list(changes(21, 1500, objects=50))
    w.append_changes(stream[:500])
    w.flush()
    src = RecordingSource(path, follow=True)
    assert src.is_live
    src.load_all()
    assert_same(live_until(stream, 500), src.tmap)
    for lo, hi in [(500, 900), (900, 1500)]:
        w.append_changes(stream[lo:hi])
        w.flush()
        assert src.poll() == hi - lo
        assert_same(live_until(stream, hi), src.tmap)
    assert src.poll() == 0
    w.close()
    src.poll()
    assert_same(live_until(stream, 1500), src.tmap)


def test_follow_ignores_a_block_still_being_written(tmp_path):
    path = tmp_path / "g.khr"
    opts = WriterOptions(block_size=4096, keyframe_changes=10**9, autoflush=False)
    w = RecordingWriter(path, _header(), opts)
    stream = list(changes(22, 400, objects=40))
    w.append_changes(stream[:200])
    w.flush()
    src = RecordingSource(path, follow=True)
    src.load_all()
    size = path.stat().st_size
    w.append_changes(stream[200:])
    w.flush()
    data = path.read_bytes()
    # the reader sees the new block half written first
    half = tmp_path / "half.khr"
    half.write_bytes(data[: size + (len(data) - size) // 2])
    follower = RecordingSource(half, follow=True)
    follower.load_all()
    n = follower.reader.change_count
    assert 200 <= n < 400
    assert_same(live_until(stream, n), follower.tmap)
    assert follower.problems()[-1].what.startswith(("last block truncated", "incomplete"))
    with open(half, "ab") as f:
        f.write(data[len(half.read_bytes()) :])
    assert follower.poll() == 400 - n
    assert_same(live_until(stream, 400), follower.tmap)
    assert follower.problems() == []
    w.close()
