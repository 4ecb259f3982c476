"""Retention: the oldest data is compacted away, the newest never; the file stays one recording."""

from __future__ import annotations

import pytest

from khronoscope.core.source import SourceInfo
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.retention import compact
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import apply, record
from tests.recording.scenario import NS, changes


def _same_from(live: TemporalMap, tmap: TemporalMap, start: int) -> None:
    """Every moment from `start` on is as the live map had it, and nothing before exists."""
    refs = [r for r in live.changes(start)]
    assert [(r.t, r.key) for r in tmap.changes(start)] == [(r.t, r.key) for r in refs]
    for r in refs[:: max(1, len(refs) // 60)]:
        assert tmap.state_at(r.t) == live.state_at(r.t)
    assert tmap.state_at(live.last_t) == live.state_at(live.last_t)
    assert tmap.first_t is not None and tmap.first_t >= start - 1


@pytest.mark.parametrize("final_index", [True, False])
def test_max_age_keeps_the_newest_and_drops_the_oldest(tmp_path, final_index):
    rec = record(tmp_path / "r.khr", count=1500, keyframe_changes=250, block_size=4096)
    live = rec.live
    span = live.last_t - live.first_t
    before = rec.path.stat().st_size
    result = compact(rec.path, max_age=span // 3, final_index=final_index)
    assert result.compacted and result.dropped_changes > 0
    assert result.new_size < before and rec.path.stat().st_size == result.new_size
    assert result.start_t is not None
    assert result.start_t <= live.last_t - span // 3  # nothing newer than the limit dropped
    with RecordingReader(rec.path) as reader:
        assert reader.indexed == final_index
        assert reader.header["compacted"]["dropped_changes"] == result.dropped_changes
        assert reader.header["cluster"] == "test-cluster"
        tmap = TemporalMap()
        load_into(reader, tmap)
        assert reader.report() == []
    _same_from(live, tmap, result.start_t)
    src = RecordingSource(rec.path)
    src.load_all()
    _same_from(live, src.tmap, result.start_t)
    # bookmarks, status and types made before the cut survive it
    assert [b.label for b in src.bookmarks()] == ["incident starts"]
    assert src.resource_types()["pods"].kind == "Pod"
    assert not (tmp_path / "r.khr.compacting").exists()


def test_max_size_never_drops_the_newest_block(tmp_path):
    rec = record(tmp_path / "r.khr", count=2000, keyframe_changes=300, block_size=4096)
    result = compact(rec.path, max_size=1)  # impossible: keeps the newest data all the same
    assert result.compacted
    with RecordingReader(rec.path) as reader:
        tmap = TemporalMap()
        load_into(reader, tmap)
        newest = [b for b in reader.blocks if b.type == 1][-1]
    assert tmap.state_at(rec.live.last_t) == rec.live.state_at(rec.live.last_t)
    assert newest.last_t == rec.live.last_t
    size = rec.path.stat().st_size
    result = compact(rec.path, max_size=size * 10)
    assert not result.compacted and rec.path.stat().st_size == size


def test_a_live_writer_compacts_and_keeps_writing(tmp_path):
    path = tmp_path / "w.khr"
    opts = WriterOptions(block_size=4096, keyframe_changes=300, keyframe_ratio=0, autoflush=False)
    w = RecordingWriter.create(path, SourceInfo("c"), writer_options=opts)
    live = TemporalMap()
    stream = list(changes(31, 2400, objects=50))
    for c in stream[:1600]:
        apply(live, c)
        w.append_change(c)
    result = w.compact(max_age=5 * NS)
    assert result.compacted
    for c in stream[1600:]:
        apply(live, c)
        w.append_change(c)
    w.close()
    src = RecordingSource(path)
    src.load_all()
    assert src.problems() == []
    assert result.start_t is not None
    _same_from(live, src.tmap, result.start_t)


def test_a_damaged_file_is_not_compacted(tmp_path):
    rec = record(tmp_path / "r.khr", count=800, block_size=4096)
    data = bytearray(rec.path.read_bytes())
    data[len(data) // 2] ^= 1
    rec.path.write_bytes(bytes(data))
    with pytest.raises(KhronoscopeError, match="damaged"):
        compact(rec.path, max_age=1)
    assert rec.path.read_bytes() == bytes(data)


def test_a_check_with_nothing_due_reads_block_headers_only(tmp_path):
    # the recorder checks every 10 minutes from its event loop: reading (and checksumming) a
    # multi-GB file each time would stall the watchers and the screen for seconds
    rec = record(tmp_path / "r.khr", count=800, block_size=4096)
    data = bytearray(rec.path.read_bytes())
    data[len(data) // 2] ^= 1  # a damaged payload is only found by reading payloads
    rec.path.write_bytes(bytes(data))
    span = rec.live.last_t - rec.live.first_t
    result = compact(rec.path, max_age=span * 2)
    assert not result.compacted
    assert rec.path.read_bytes() == bytes(data)


def test_slack_compacts_now_and_then_not_at_every_check(tmp_path):
    rec = record(tmp_path / "r.khr", count=1500, keyframe_changes=250, block_size=4096)
    span = rec.live.last_t - rec.live.first_t
    size = rec.path.stat().st_size
    # 5% of the age limit is due: under the 10% slack, nothing is rewritten
    max_age = span * 100 // 105
    assert not compact(rec.path, max_age=max_age, slack=0.1).compacted
    assert rec.path.stat().st_size == size
    # 20% due: compacted down to the limit itself (not to the limit minus the slack)
    max_age = span * 100 // 120
    result = compact(rec.path, max_age=max_age, slack=0.1)
    assert result.compacted and result.start_t is not None
    assert result.start_t <= rec.live.last_t - max_age
    # over a size limit: cut to 10% under it, so the next check has room to grow into
    size = rec.path.stat().st_size
    result = compact(rec.path, max_size=size * 3 // 4, slack=0.1)
    assert result.compacted and result.new_size <= size * 3 // 4 * 0.9 + 4096
