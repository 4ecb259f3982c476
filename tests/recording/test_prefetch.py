"""Reading ahead: while time moves, the next segment is read by a worker before the views cross
into it; what any read returns is the same with or without it, and closing stops the worker."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.recording.segments.catalog import SegmentedRecording
from khronoscope.recording.segments.history import LazyHistory
from khronoscope.recording.segments.prefetch import Prefetcher
from khronoscope.recording.segments.source import open_segmented
from khronoscope.storage.local import LocalStore
from khronoscope.temporal import Cursor
from tests.recording.test_segments import (
    STEPS,
    assert_same_everywhere,
    open_lazy,
    row_of,
    write,
)


class CountingStore(LocalStore):
    """A local store that counts the byte ranges read from segments."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0
        self._lock = threading.Lock()

    def get_range(self, name: str, start: int, length: int) -> bytes:
        with self._lock:
            self.reads += 1
        return super().get_range(name, start, length)


def _recording(tmp_path: Path, seed: int = 5, n: int = 500):
    rnd = random.Random(seed)
    steps = [
        (rnd.randrange(1, 10**9), rnd.randrange(0, 4), rnd.choice([None, 0, 1, 2]))
        for _ in range(n)
    ]
    path = tmp_path / "r.khr"
    _, live = write(path, steps)
    return path, live


def _open(path: Path, prefetch: bool) -> tuple[CountingStore, LazyHistory, Prefetcher | None]:
    store = CountingStore(path)
    lazy = LazyHistory(SegmentedRecording(store, path / "wal"), row_fn=row_of)
    return store, lazy, Prefetcher(lazy, quiet=0.0) if prefetch else None


def _cross(path: Path, prefetch: bool) -> int:
    """Step forward twice inside one segment, let the worker finish, then cross into the next
    segment: the store reads that crossing costs."""
    store, lazy, pf = _open(path, prefetch)
    segs = [s for s in lazy.segments if s.changes]
    seg, nxt = segs[len(segs) // 2], segs[len(segs) // 2 + 1]
    cursor = Cursor(lazy, "pods")
    for t in (seg.first_t, (seg.first_t + seg.last_t) // 2):  # stepping toward the boundary
        cursor.seek(t)
        cursor.rows.pick(list(cursor.versions))
    if pf is not None:
        assert pf.wait_idle()
    before = store.reads
    cursor.seek(nxt.first_t)  # the step across the boundary, and the rows it draws
    cursor.rows.pick(list(cursor.versions))
    lazy.next_change(nxt.first_t, type="pods")
    if pf is not None:
        pf.close()
    return store.reads - before


def test_stepping_toward_a_boundary_reads_the_next_segment_ahead(tmp_path):
    path, _ = _recording(tmp_path)
    # without reading ahead, crossing reads the next segment's sections and blocks
    assert _cross(path, prefetch=False) > 0
    # with it, they were read while the reader paused: the crossing reads nothing
    assert _cross(path, prefetch=True) == 0


def test_stepping_back_toward_a_boundary_reads_the_previous_segment_ahead(tmp_path):
    path, _ = _recording(tmp_path)
    store, lazy, pf = _open(path, prefetch=True)
    assert pf is not None
    segs = [s for s in lazy.segments if s.changes]
    seg, prev = segs[len(segs) // 2], segs[len(segs) // 2 - 1]
    cursor = Cursor(lazy, "pods")
    for t in (seg.last_t, (seg.first_t + seg.last_t) // 2):  # going back
        cursor.seek(t)
        cursor.rows.pick(list(cursor.versions))
    assert pf.wait_idle()
    before = store.reads
    back = lazy.previous_change(seg.first_t, type="pods")
    assert back is not None and back <= prev.last_t
    cursor.seek(back)
    cursor.rows.pick(list(cursor.versions))
    assert store.reads == before
    pf.close()


def test_closing_the_source_stops_the_worker(tmp_path):
    path, live = _recording(tmp_path)
    source = open_segmented(path, row_fn=row_of)
    assert not source.prefetch.running  # opening alone starts no thread
    cursor = Cursor(source.tmap, "pods")
    segs = source.segments
    cursor.seek(segs[1].first_t)
    cursor.seek(segs[1].last_t)  # time moved: the worker reads the next segment
    assert source.prefetch.running
    worker = source.prefetch._thread
    source.close()
    assert worker is not None and not worker.is_alive()
    assert not source.prefetch.running
    # reading on after close is still right (only nothing is read ahead)
    cursor.seek(segs[3].last_t)
    assert dict(cursor.versions) == {
        k: live.version_at(k, segs[3].last_t) for k in live.keys_at(segs[3].last_t, "pods")
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS.filter(lambda s: len(s) > 20), data=st.data())
def test_reading_ahead_never_changes_what_a_read_returns(tmp_path_factory, steps, data):
    path = tmp_path_factory.mktemp("rec") / "r.khr"
    _, live = write(path, steps)
    if live.first_t is None:
        return
    lazy = open_lazy(path)
    pf = Prefetcher(lazy, quiet=0.0)  # the worker races the reads as much as it can
    span = (live.first_t - 2, live.last_t + 2)
    moments = sorted(data.draw(st.lists(st.integers(*span), min_size=2, max_size=10)))
    for s in lazy.segments:
        moments += [s.first_t - 1, s.first_t, s.last_t, s.last_t + 1]
    forward = sorted(moments)
    # forwards then backwards, as play and `[` move: every read equals the live map's
    a, b = Cursor(lazy, "pods"), Cursor(live, "pods")  # type: ignore[arg-type]
    for t in forward + forward[::-1]:
        a.seek(t)
        b.seek(t)
        assert a.rows == b.rows, t
    assert_same_everywhere(lazy, live, forward + forward[::-1])
    pf.close()


def test_stepping_back_in_the_live_apps_recorded_past_reads_the_previous_segment_ahead(tmp_path):
    from khronoscope.recording.segments.hotcold import HotColdHistory

    path, hot = _recording(tmp_path)
    assert hot.last_t is not None
    hot.trim_before(hot.last_t + 1)  # the session keeps only its hot window, past the recording
    store = CountingStore(path)
    h = HotColdHistory(hot, LazyHistory(SegmentedRecording(store, None), row_fn=row_of))
    segs = [s for s in h.cold.segments if s.changes]
    seg, prev = segs[len(segs) // 2], segs[len(segs) // 2 - 1]
    cursor = Cursor(h, "pods")
    for t in (seg.last_t, (seg.first_t + seg.last_t) // 2):  # going back, in the recorded part
        cursor.seek(t)
        cursor.rows.pick(list(cursor.versions))
    assert h.prefetch.wait_idle()
    before = store.reads
    back = h.previous_change(seg.first_t, type="pods")
    assert back is not None and back <= prev.last_t
    cursor.seek(back)
    cursor.rows.pick(list(cursor.versions))
    assert store.reads == before  # the step into the previous segment read nothing: it was ahead
    worker = h.prefetch._thread
    h.close()  # the app closing its recording stops the worker
    assert worker is not None and not worker.is_alive()
