"""kill -9 during writes, truncated files and flipped bits: what was written stays readable."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import assert_same, crash, live_until, record
from tests.recording.scenario import changes

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from khronoscope.core.source import SourceInfo
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from tests.recording.scenario import changes
w = RecordingWriter.create({path!r}, SourceInfo("crash"),
                           writer_options=WriterOptions(block_size=8192, keyframe_changes=700,
                                                        keyframe_ratio=0.0))
for n, c in enumerate(changes({seed}, 100000, objects=60), 1):
    w.append_change(c)
    if n % 20 == 0:
        print(n, time.monotonic(), flush=True)
        time.sleep(0.01)
"""


@pytest.mark.parametrize("seed", [11, 12])
def test_kill_9_keeps_everything_up_to_the_last_complete_block(tmp_path, seed):
    path = tmp_path / "crash.khr"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path), seed=seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # writing has begun
    rng = random.Random(seed)
    time.sleep(rng.uniform(1.4, 2.2))
    killed_at = time.monotonic()
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    lines = [first, *out.splitlines()]
    progress = [(int(n), float(t)) for n, t in (line.split() for line in lines)]
    with RecordingReader(path) as reader:
        n = reader.change_count
        tmap = TemporalMap()
        result = load_into(reader, tmap)
        assert [p for p in result.problems if p is not reader.pending_tail] == []
    assert result.changes == n and result.lost_versions == 0
    # the flush timer writes every change older than a second
    old_enough = [c for c, t in progress if t <= killed_at - 1.3]
    assert old_enough and n >= old_enough[-1]
    assert n <= progress[-1][0] + 20
    expected = live_until(list(changes(seed, n, objects=60)), n)
    assert_same(expected, tmap)
    src = RecordingSource(path)
    src.load_all()
    assert_same(expected, src.tmap)


@pytest.fixture(scope="module")
def crashed_file(tmp_path_factory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("trunc") / "r.khr"
    rec = record(path, count=1500, keyframe_changes=300, close=False, block_size=4096)
    crash(rec)
    return path, rec.changes


def test_truncated_files_open_with_every_complete_block(tmp_path, crashed_file):
    path, all_changes = crashed_file
    data = path.read_bytes()
    with RecordingReader(path) as full:
        header_end = full.data_start
        blocks = list(full.blocks)
    rng = random.Random(5)
    cuts = [rng.randrange(header_end, len(data)) for _ in range(12)] + [b.end for b in blocks[:2]]
    for cut in cuts:
        copy = tmp_path / f"cut{cut}.khr"
        copy.write_bytes(data[:cut])
        complete = [b for b in blocks if b.end <= cut]
        n = sum(b.changes for b in complete)
        with RecordingReader(copy) as reader:
            assert reader.blocks == complete
            problems = reader.report()
            if cut in {b.end for b in blocks}:
                assert problems == []
            else:
                assert len(problems) == 1
                assert problems[0].start == complete[-1].end if complete else True
                assert problems[0].end == cut
                assert "truncated" in problems[0].describe() or "incomplete" in problems[0].what
            tmap = TemporalMap()
            load_into(reader, tmap)
        assert_same(live_until(all_changes, n), tmap)


def test_a_truncated_file_header_is_one_clear_error(tmp_path, crashed_file):
    path, _ = crashed_file
    copy = tmp_path / "h.khr"
    copy.write_bytes(path.read_bytes()[:20])
    with pytest.raises(NotARecording, match="header is truncated"):
        RecordingReader(copy)


@pytest.fixture(scope="module")
def closed_file(tmp_path_factory) -> tuple[Path, list, TemporalMap]:
    path = tmp_path_factory.mktemp("flip") / "r.khr"
    rec = record(path, count=1500, keyframe_changes=300, block_size=4096)
    return path, rec.changes, rec.live


def test_flipped_bits_are_reported_and_the_rest_reads(tmp_path, closed_file):
    path, _, live = closed_file
    data = path.read_bytes()
    with RecordingReader(path) as full:
        start = full.data_start
        blocks = list(full.blocks)
    end = live.last_t
    rng = random.Random(9)
    offsets = [rng.randrange(start, len(data)) for _ in range(8)]
    offsets += [blocks[3].offset + 2, blocks[5].offset + 30]  # block headers: resync path
    for off in offsets:
        copy = tmp_path / f"flip{off}.khr"
        damaged = bytearray(data)
        damaged[off] ^= 1 << rng.randrange(8)
        copy.write_bytes(bytes(damaged))
        hit = next((b for b in blocks if b.offset <= off < b.end), None)
        with RecordingReader(copy) as reader:
            tmap = TemporalMap()
            load_into(reader, tmap)
            problems = reader.verify()
        if hit is None or hit.type == 3:
            # the index or its trailer: the blocks are scanned instead, nothing is lost
            assert_same(live, tmap)
            continue
        assert problems, f"flip at {off} went unnoticed"
        assert any(p.start <= off < p.end for p in problems), (off, problems)
        assert all(p.describe() for p in problems)
        # the newest moment is intact (later keyframes resync what the lost block held)
        assert tmap.state_at(end) == live.state_at(end)
        # and so is everything before the damaged block
        before = hit.first_t - 1
        assert tmap.state_at(before) == live.state_at(before)
        src = RecordingSource(copy)
        assert src.tmap.state_at(end) == live.state_at(end)
        src.load_all()
        assert src.tmap.state_at(before) == live.state_at(before)
        if hit.type == 1:
            assert any(
                g.type == "*" and g.start <= hit.last_t and g.end >= hit.first_t for g in src.gaps()
            ), "lost data is shown as a gap"


def test_file_header_damage_is_one_clear_error(tmp_path, closed_file):
    path, _, _ = closed_file
    damaged = bytearray(path.read_bytes())
    damaged[20] ^= 0xFF
    copy = tmp_path / "hd.khr"
    copy.write_bytes(bytes(damaged))
    with pytest.raises(NotARecording, match="header is damaged"):
        RecordingReader(copy)


def test_a_copy_keeps_reading_while_damaged_blocks_are_skipped(tmp_path, closed_file):
    """Two damaged blocks in a row: both reported, changes around them still loaded."""
    path, all_changes, live = closed_file
    copy = tmp_path / "two.khr"
    shutil.copy(path, copy)
    with RecordingReader(copy) as r:
        data_blocks = [b for b in r.blocks if b.type == 1]
    victims = data_blocks[4:6]
    with open(copy, "r+b") as f:
        for b in victims:
            f.seek(b.end - 3)
            f.write(b"\0\0\0")
    with RecordingReader(copy) as reader:
        tmap = TemporalMap()
        result = load_into(reader, tmap)
        lost = sum(b.changes for b in victims)
        assert [(p.start, p.end) for p in reader.report()] == [(b.offset, b.end) for b in victims]
        assert "checksum" in reader.report()[0].describe()
        assert f"its {victims[0].records} records (" in reader.report()[0].describe()
    assert result.changes == len(all_changes) - lost
    assert tmap.state_at(live.last_t) == live.state_at(live.last_t)
    assert os.path.getsize(copy) == os.path.getsize(path)
