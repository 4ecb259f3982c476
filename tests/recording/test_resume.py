"""A recorder restarted on its recording goes on with it: the previous run's open segment is
sealed from its spool, and the recording reads back as if one writer had written it all."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.segments.catalog import read_header
from khronoscope.recording.segments.resume import resume
from khronoscope.recording.segments.writer import SegmentedWriter
from khronoscope.storage.local import LocalStore
from khronoscope.temporal import TemporalMap
from tests.recording.test_segments import (
    KEYS,
    STEPS,
    T0,
    assert_same_everywhere,
    open_lazy,
    row_of,
    small_segments,
)


def _feed(w: SegmentedWriter, live: TemporalMap, steps, t: int) -> int:
    for dt, k, value in steps:
        t += dt
        key = KEYS[k]
        if value is None:
            if live.delete(key, t):
                w.append_change(Change(t, key, ChangeKind.DELETED, None))
        else:
            obj = {"metadata": {"name": key.name, "namespace": key.namespace}, "v": value}
            if live.put(key, t, obj):
                w.append_change(Change(t, key, ChangeKind.MODIFIED, obj))
    return t


def _crash_and_resume(path, first, second, options=None):
    """Write `first`, flush its spool and drop the writer as kill -9 would; resume and write
    `second`; returns (resumed writer's Resumed, the live map of every change)."""
    options = options or small_segments()
    w = SegmentedWriter.create_local(path, SourceInfo("c", "ctx"), start=T0, writer_options=options)
    live = TemporalMap(row_fn=row_of)
    t = _feed(w, live, first, T0)
    w.flush()  # what a kill -9 keeps: the spool's written blocks (no seal, no close)
    store = LocalStore(path)
    resumed = resume(store, path / "wal", store.put)
    w2 = SegmentedWriter(
        store, path / "wal", read_header(store).map, options, str(path), resume=resumed
    )
    _feed(w2, live, second, t)
    w2.close()
    return resumed, live


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=STEPS, second=STEPS, data=st.data())
def test_a_resumed_recording_reads_back_as_the_live_map_everywhere(
    tmp_path_factory, first, second, data
):
    path = tmp_path_factory.mktemp("resume") / "r.khr"
    _resumed, live = _crash_and_resume(path, first, second)
    lazy = open_lazy(path)
    assert not list((path / "wal").glob("*.wal")), "every spool was sealed"
    if live.first_t is None:
        assert lazy.change_count == 0
        return
    assert lazy.change_count == sum(len(live.history(k)) for k in KEYS if k in live)
    seqs = [s.seq for s in lazy.segments]
    assert seqs == sorted(set(seqs)), "segment numbers go on, never reused"
    span = (live.first_t - 2, live.last_t + 2)
    moments = data.draw(st.lists(st.integers(*span), min_size=1, max_size=12))
    for s in lazy.segments:
        moments += [s.first_t - 1, s.first_t, s.last_t, s.last_t + 1]
    assert_same_everywhere(lazy, live, moments)


def test_the_previous_runs_open_segment_is_sealed_and_an_unchanged_relist_is_no_change(tmp_path):
    rnd = random.Random(7)
    first = [(rnd.randrange(1, 10**9), rnd.randrange(0, 4), rnd.randrange(3)) for _ in range(300)]
    path = tmp_path / "r.khr"
    options = small_segments(seal_raw=4000)
    w = SegmentedWriter.create_local(path, SourceInfo("c", "ctx"), start=T0, writer_options=options)
    live = TemporalMap(row_fn=row_of)
    t = _feed(w, live, first, T0)
    w.seal_now()
    # the open segment: changes of one object only (the others' places come from the segments)
    t = _feed(w, live, [(10**8, 0, v) for v in (0, 1, 2, 0)], t)
    w.flush()
    assert list((path / "wal").glob("*.wal")), "the open segment is only in its spool"
    store = LocalStore(path)
    resumed = resume(store, path / "wal", store.put)
    assert resumed.sealed_spools == 1 and resumed.recovered_changes > 0
    go_on_from = resumed.next_seq
    w2 = SegmentedWriter(
        store, path / "wal", read_header(store).map, options, str(path), resume=resumed
    )
    # the relist after a restart: every live object again, unchanged
    t += 10**9
    for key in KEYS:
        obj = live.get(key, live.last_t)
        if obj is not None:
            w2.append_change(Change(t, key, ChangeKind.ADDED, obj))
    assert w2.stats.changes == 0, "an object listed again unchanged is not a change"
    # later bases refer to (and carry) versions the previous run wrote
    more = [(rnd.randrange(1, 10**9), rnd.randrange(0, 3), rnd.randrange(3)) for _ in range(600)]
    _feed(w2, live, more, t)
    w2.close()
    lazy = open_lazy(path)
    assert sum(1 for s in lazy.segments if s.base and s.seq >= go_on_from) >= 2
    assert lazy.change_count == sum(len(live.history(k)) for k in KEYS if k in live)
    moments = [rnd.randrange(live.first_t, live.last_t) for _ in range(40)]
    assert_same_everywhere(lazy, live, [*moments, live.last_t, live.last_t + 1])
