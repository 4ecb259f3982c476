"""Format 2 over a recording's life: retention deletes whole segments and what stays reads as
before; a v0.1 file converts; kill -9 while writing or sealing loses at most the last second."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.loader import load_into
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.segments import retention
from khronoscope.recording.segments.catalog import SegmentedRecording
from khronoscope.recording.segments.convert import convert
from khronoscope.recording.segments.history import LazyHistory
from khronoscope.recording.segments.retention import SegmentMeta
from khronoscope.recording.segments.spools import load_spools
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.storage.local import LocalStore
from khronoscope.temporal import TemporalMap
from tests.recording.helpers import apply, record
from tests.recording.scenario import changes
from tests.recording.test_segments import KEYS, STEPS, T0, small_segments, write

ROOT = Path(__file__).resolve().parents[2]
SECOND = 1_000_000_000


def lazy(path: Path, spools: bool = False) -> LazyHistory:
    rec = SegmentedRecording(LocalStore(path), path / "wal")
    if spools:
        load_spools(rec)
    return LazyHistory(rec)


def files(path: Path) -> dict[str, tuple[int, int]]:
    """Every segment file with its size and inode (a rewrite would change them)."""
    out = {}
    for p in (path / "segments").iterdir():
        st_ = p.stat()
        out[p.name] = (st_.st_size, st_.st_ino)
    return out


# --- retention ---------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS.filter(lambda s: len(s) > 60), data=st.data())
def test_after_retention_every_moment_kept_reads_as_before(tmp_path_factory, steps, data):
    path = tmp_path_factory.mktemp("ret") / "r.khr"
    w, live = write(path, steps, close=False)
    if live.first_t is None:
        return  # nothing was a change (deletes of nothing)
    w.seal_now()
    before = files(path)
    total = live.last_t - live.first_t
    max_age = data.draw(st.integers(min_value=1, max_value=max(1, total)))
    result = w.compact(max_age=max_age)
    w.close(stop_t=live.last_t)
    after = files(path)
    # nothing rewritten: what stays is byte for byte what was there
    assert all(before[name] == after[name] for name in after if name in before)
    h = lazy(path)
    if not result.compacted:
        assert h.first_t == live.first_t
        return
    assert set(before) - set(after), "whole segments were deleted"
    start = h.first_t
    assert start == result.start_t
    # at least max_age of history is kept
    assert start <= live.last_t - max_age
    trimmed = TemporalMap()
    for ref in live.changes():
        if ref.kind.name == "DELETED":
            trimmed.delete(ref.key, ref.t)
        else:
            trimmed.put(ref.key, ref.t, live.get(ref.key, ref.t))
    trimmed.trim_before(start)
    moments = data.draw(st.lists(st.integers(start, live.last_t + 1), min_size=1, max_size=10))
    keys = {c.key for c in live.chains()}
    for t in moments:
        for k in keys:
            assert h.get(k, t) == live.get(k, t), (k, t)
        assert sorted(h.keys_at(t)) == sorted(live.keys_at(t))
    for k in keys:
        assert h.history(k) == trimmed.history(k), k
    assert list(h.changes(start)) == list(live.changes(start))


def test_retention_reports_the_start_that_open_shows(tmp_path):
    # bases 2 and 4 both refer back to segment 2 only: once 0 and 1 go, everything from 2 on
    # can be shown, and that is what `record` must report (found by the property test above)
    s = SECOND
    shape = [(0, True, 0), (1, False, 0), (2, True, 2), (3, False, 2), (4, True, 2), (5, False, 2)]
    metas = [
        SegmentMeta(seq, f"segments/{seq}", 100, seq * 10 * s, seq * 10 * s + 5 * s, 7, base, rf)
        for seq, base, rf in shape
    ]
    result = retention.apply(LocalStore(tmp_path), metas, max_age=12 * s, max_size=None)
    assert result.compacted and result.deleted == ("segments/0", "segments/1")
    assert result.start_t == 20 * s  # segment 2's first change, not just after segment 3
    assert result.dropped_changes == 14


def test_max_size_keeps_the_newest_segments_under_the_limit(tmp_path):
    rnd = random.Random(4)
    steps = [(rnd.randrange(1, 10**9), rnd.randrange(0, 7), rnd.randrange(5)) for _ in range(900)]
    w, live = write(path := tmp_path / "r.khr", steps, close=False)
    w.seal_now()
    size = sum(s for s, _ in files(path).values())
    result = w.compact(max_size=size // 3)
    w.close(stop_t=live.last_t)
    assert result.compacted and result.new_size < result.old_size
    kept = sum(s for s, _ in files(path).values())
    assert kept <= size // 3 + 4096  # the closing segment came after the pass
    h = lazy(path)
    assert h.last_t == live.last_t
    for k in {c.key for c in live.chains()}:
        assert h.get(k, live.last_t) == live.get(k, live.last_t)


class CountingStore(LocalStore):
    """A local store that counts the listings of its segments (a LIST call on S3)."""

    segment_lists = 0

    def list(self, prefix: str = ""):
        if prefix == "segments/":
            self.segment_lists += 1
        return super().list(prefix)


def test_sealing_does_not_list_the_store_each_time_and_carries_after_retention(tmp_path):
    # bases carry old versions forward, read back from earlier segments: the sealer knows
    # which segments exist from its own catalog (seal after seal, retention after retention),
    # it does not LIST the bucket again for every one
    rnd = random.Random(11)
    path = tmp_path / "r.khr"
    path.mkdir()
    store = CountingStore(path)
    w = SegmentedWriter.create(
        store, path / "wal", SourceInfo("c", "ctx"), start=T0, writer_options=small_segments()
    )
    live = TemporalMap()
    t = T0
    obj = {"metadata": {"name": "settings", "namespace": "shop"}, "v": 0}
    w.append_change(Change(t, KEYS[4], ChangeKind.MODIFIED, obj))  # never changes again
    live.put(KEYS[4], t, obj)
    for i in range(900):
        t += rnd.randrange(1, 10**9)
        key = KEYS[rnd.randrange(0, 4)]
        obj = {"metadata": {"name": key.name, "namespace": key.namespace}, "v": rnd.randrange(3)}
        if live.put(key, t, obj):
            w.append_change(Change(t, key, ChangeKind.MODIFIED, obj))
        if i == 450:
            w.seal_now()
            assert w.compact(max_age=(t - T0) // 3).compacted
    w.close(stop_t=t)
    segs = lazy(path).segments
    assert sum(1 for s in segs if s.base) > 10
    assert store.segment_lists <= 1, f"{store.segment_lists} listings for {len(segs)} segments"
    h = lazy(path)
    assert h.get(KEYS[4], t) == live.get(KEYS[4], t), "the carried ConfigMap reads back"
    moments = [rnd.randrange(h.first_t, t + 1) for _ in range(40)]
    for m in moments:
        for k in KEYS[:5]:
            assert h.get(k, m) == live.get(k, m), (k, m)


# --- v0.1 files --------------------------------------------------------------------------------


def test_a_v0_1_recording_converts_to_the_same_history(tmp_path):
    old = record(tmp_path / "old.khr", seed=3, count=2500, keyframe_changes=400)
    done = convert(old.path, tmp_path / "new.khr", options=small_segments(seal_raw=60_000))
    assert done.problems == [] and done.segments > 3
    with RecordingReader(old.path) as reader:
        loaded = TemporalMap()
        load_into(reader, loaded)
    h = lazy(tmp_path / "new.khr")
    keys = {c.key for c in loaded.chains()}
    for k in keys:
        assert h.history(k) == loaded.history(k), k
    rnd = random.Random(1)
    for t in [rnd.randrange(loaded.first_t, loaded.last_t) for _ in range(15)]:
        assert h.state_at(t) == loaded.state_at(t)
    # bookmarks, gaps, status and logs came along
    from khronoscope.recording.segments.source import open_segmented

    src = open_segmented(tmp_path / "new.khr")
    assert [b.label for b in src.bookmarks()] == ["incident starts"]
    assert any("410" in g.reason for g in src.gaps())
    assert src.type_status()["pods"].error == "timeout"
    assert src.logs.pods()


# --- kill -9 -----------------------------------------------------------------------------------

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from khronoscope.core.source import SourceInfo
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from tests.recording.scenario import changes
w = SegmentedWriter.create_local({path!r}, SourceInfo("crash"),
    writer_options=SegmentOptions(seal_raw={seal_raw}, block_size=8192))
for n, c in enumerate(changes({seed}, 100000, objects=60), 1):
    w.append_change(c)
    if {hold_spool} and w.stats.segments >= 1:
        w.options.seal_raw = 1 << 40  # from now on the spool holds the tail
    if n % 20 == 0:
        print(n, w.stats.segments, time.monotonic(), flush=True)
        time.sleep(0.01)
"""


def _kill_writer(path: Path, seed: int, seal_raw: int, wait: float, hold_spool: bool = False):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD.format(
                root=str(ROOT), path=str(path), seed=seed, seal_raw=seal_raw, hold_spool=hold_spool
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    time.sleep(wait)
    killed_at = time.monotonic()
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    lines = [first, *out.splitlines()]
    return [(int(n), int(s), float(t)) for n, s, t in (x.split() for x in lines)], killed_at


def _check_after_kill(path: Path, seed: int, progress, killed_at: float) -> LazyHistory:
    h = lazy(path, spools=True)
    got = h.change_count
    # everything written more than a second before the kill is there
    old_enough = [n for n, _, t in progress if t <= killed_at - 1.3]
    assert old_enough and got >= old_enough[-1]
    assert got <= progress[-1][0] + 20
    expected = TemporalMap()
    for c in list(changes(seed, got, objects=60)):
        apply(expected, c)
    keys = {c.key for c in expected.chains()}
    assert keys == {k for k in keys if h.history(k)}
    for k in keys:
        assert h.history(k) == expected.history(k), k
    assert list(h.changes()) == list(expected.changes())
    return h


def test_kill_9_while_writing_loses_at_most_the_last_second(tmp_path):
    path = tmp_path / "crash.khr"
    # Once a segment is sealed the child stops sealing, so more than a second of changes is
    # only in the spool when the kill comes: otherwise a kill just after a rotation finds an
    # empty spool and the spool's recovery goes untested.
    progress, killed_at = _kill_writer(path, 21, seal_raw=200_000, wait=2.5, hold_spool=True)
    assert progress[-1][1] >= 1, "segments were sealed before the kill"
    h = _check_after_kill(path, 21, progress, killed_at)
    assert any(s.spool for s in h.segments), "the last part was read from the spool"


def test_kill_9_while_sealing_loses_at_most_the_last_second(tmp_path, monkeypatch):
    # tiny segments: the sealer is nearly always busy when the kill comes
    path = tmp_path / "crash.khr"
    progress, killed_at = _kill_writer(path, 22, seal_raw=20_000, wait=2.5)
    left = os.listdir(path / "wal")
    assert len(left) >= 1
    _check_after_kill(path, 22, progress, killed_at)


def test_a_spool_is_not_read_twice_once_its_segment_exists(tmp_path):
    # the writer died between writing a segment and deleting its spool
    rnd = random.Random(9)
    steps = [(rnd.randrange(1, 10**9), rnd.randrange(0, 7), rnd.randrange(5)) for _ in range(200)]
    w, live = write(path := tmp_path / "r.khr", steps, close=False)
    w.flush()
    spool = next((path / "wal").iterdir())
    saved = spool.read_bytes()
    w.seal_now()
    spool.write_bytes(saved)
    h = lazy(path, spools=True)
    seq = int(spool.name.split(".")[0])
    assert [s.spool for s in h.segments if s.seq == seq] == [False]
    assert h.change_count == live.change_count


def test_a_recording_written_with_the_session_changes_reads_back(tmp_path):
    # the same Change objects a session hands to its sinks
    w = SegmentedWriter.create_local(
        tmp_path / "r.khr", SourceInfo("c"), writer_options=small_segments(seal_raw=30_000)
    )
    live = TemporalMap()
    out: list[Change] = list(changes(5, 1500, objects=50))
    for c in out:
        apply(live, c)
        w.append_change(c)
    w.close()
    h = lazy(tmp_path / "r.khr")
    assert list(h.changes()) == list(live.changes())
    assert SegmentOptions().seal_raw > 30_000


# --- the live app: hot window in memory, older history from its own recording ----------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS.filter(lambda s: len(s) > 40), data=st.data())
def test_a_map_trimmed_to_its_hot_window_reads_with_its_recording_as_the_whole(
    tmp_path_factory, steps, data
):
    from khronoscope.recording.segments.hotcold import HotColdHistory
    from tests.recording.test_segments import row_of

    path = tmp_path_factory.mktemp("hot") / "r.khr"
    w, live = write(path, steps, close=False)
    if live.first_t is None:
        return
    w.seal_now()
    whole = TemporalMap(row_fn=row_of)  # what an untrimmed session would hold
    for ref in live.changes():
        if ref.kind.name == "DELETED":
            whole.delete(ref.key, ref.t)
        else:
            whole.put(ref.key, ref.t, live.get(ref.key, ref.t))
    cold = LazyHistory(SegmentedRecording(LocalStore(path), None), row_fn=row_of)
    cut = data.draw(st.integers(live.first_t, live.last_t + 1))
    live.trim_before(cut)  # everything before the cut is sealed: the session may forget it
    h = HotColdHistory(live, cold)
    assert h.first_t == whole.first_t and h.last_t == whole.last_t
    keys = {c.key for c in whole.chains()}
    for k in keys:
        assert h.history(k) == whole.history(k), k
    span = st.integers(whole.first_t, whole.last_t + 1)
    moments = data.draw(st.lists(span, min_size=1, max_size=8))
    for t in [*moments, cut - 1, cut]:
        for k in keys:
            assert h.get(k, t) == whole.get(k, t), (k, t)
            assert h.row(k, t) == whole.row(k, t), (k, t)
        assert h.versions_at(t) == whole.versions_at(t), t
        assert h.next_change(t, type="pods") == whole.next_change(t, type="pods")
        assert h.previous_change(t, type="pods") == whole.previous_change(t, type="pods")
    assert list(h.changes()) == list(whole.changes())
    lo, hi = min(moments), max(moments)
    kids, crossed = h.changed_keys(lo, hi, "pods")
    wk, wc = whole.changed_keys(lo, hi, "pods")
    assert crossed == wc and {h.key_of(k) for k in kids} == {whole.key_of(k) for k in wk}
    w.close()


def test_a_follower_reads_only_what_was_written_since_and_sees_it_sealed(tmp_path):
    from khronoscope.recording.segments.source import open_segmented
    from tests.recording.test_segments import KEYS, row_of

    path = tmp_path / "r.khr"
    w = SegmentedWriter.create_local(
        path, SourceInfo("c"), writer_options=small_segments(seal_raw=10**9)
    )
    live = TemporalMap(row_fn=row_of)
    follower = open_segmented(path, follow=True)
    rnd = random.Random(2)
    t = 10**18
    for _round in range(4):
        for _ in range(60):
            t += rnd.randrange(1, 10**9)
            key = KEYS[rnd.randrange(len(KEYS))]
            obj = {
                "metadata": {"name": key.name, "namespace": key.namespace},
                "v": rnd.randrange(4),
            }
            if live.put(key, t, obj):
                w.append_change(Change(t, key, "MODIFIED", obj))  # type: ignore[arg-type]
        w.flush()
        parts_before = sum(1 for s in follower.segments if s.spool)
        assert follower.poll() > 0
        parts = [s for s in follower.segments if s.spool]
        assert len(parts) == parts_before + 1  # only the new blocks were sealed, as one part
        assert follower.poll() == 0 and len([s for s in follower.segments if s.spool]) == len(parts)
        for k in KEYS:
            assert follower.tmap.history(k) == live.history(k)
            assert follower.tmap.get(k, t) == live.get(k, t)
    w.seal_now()
    follower.poll()
    assert not any(s.spool for s in follower.segments)  # the sealed segment replaced them
    for k in KEYS:
        assert follower.tmap.history(k) == live.history(k)
    w.close()


# --- damage --------------------------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS.filter(lambda s: len(s) > 80), data=st.data())
def test_a_damaged_block_costs_only_the_versions_the_report_names(tmp_path_factory, steps, data):
    from khronoscope.core.provenance import is_unknown

    path = tmp_path_factory.mktemp("dmg") / "r.khr"
    _, live = write(path, steps)
    rec = SegmentedRecording(LocalStore(path), None)
    blocks = [
        (s, type_, b)
        for s in rec.segments
        for type_, doc in s.types.items()
        if "blocks" in doc
        for b in range(len(rec.type_index(s.seq, type_).blocks))
    ]
    if not blocks:
        return
    seg, type_, b = data.draw(st.sampled_from(blocks))
    ix = rec.type_index(seg.seq, type_)
    first_rid, offset, length, _, _ = ix.blocks[b]
    end_rid = ix.blocks[b + 1][0] if b + 1 < len(ix.blocks) else len(ix.lens)
    at = int(seg.types[type_]["blocks"][0]) + offset + data.draw(st.integers(0, length - 1))
    file = path / seg.name
    raw = bytearray(file.read_bytes())
    raw[at] ^= 0xFF
    file.write_bytes(bytes(raw))

    h = lazy(path)
    lost = set()
    keys = {c.key for c in live.chains()}
    for k in keys:
        assert h.history(k) == live.history(k), k  # the index is intact: no change invented
        for t, _ in live.history(k):
            ref = h.ref(k, t)
            want = live.get(k, t)
            got = h.get(k, t)
            in_block = ref is not None and ref[1] == seg.seq and first_rid <= ref[2] < end_rid
            if k.type == type_ and in_block:
                assert is_unknown(got), (k, t)  # it exists; its content is unknown
                lost.add((ref[1], ref[2]))
            else:
                assert got == want, (k, t)
            assert (got is None) == (want is None)  # never absent where it existed
    (report,) = [d for d in h.rec.damage if "block" in d.where] or [None]
    if lost:
        assert report is not None and report.type == type_
        assert report.versions == end_rid - first_rid >= len(lost)
