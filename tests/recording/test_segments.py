"""Format 2: what a segmented recording reads back equals the live TemporalMap it recorded, at
any moment and for any object, across segment boundaries, bases and carried versions."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind, ObjectKey
from khronoscope.recording.segments.catalog import SegmentedRecording
from khronoscope.recording.segments.history import LazyHistory
from khronoscope.recording.segments.spools import load_spools
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.storage.local import LocalStore
from khronoscope.temporal import Cursor, TemporalMap

T0 = 1_800_000_000_000_000_000
KEYS = [
    ObjectKey("pods", "default", "web-1"),
    ObjectKey("pods", "default", "web-2"),
    ObjectKey("pods", "shop", "web-1"),
    ObjectKey("pods", "shop", "cart"),
    ObjectKey("configmaps", "shop", "settings"),
    ObjectKey("nodes", "", "node-1"),
    ObjectKey("events", "shop", "cart.1"),
]


def row_of(type_name: str, obj: dict) -> tuple:
    """A stand-in for the printers' rows: what a table would show."""
    return (obj["metadata"]["name"], obj.get("v"))


def small_segments(**kw) -> SegmentOptions:
    """Segments of a few records, a base every few: every boundary case shows up."""
    opts = dict(seal_raw=600, autoflush=False, background=False, base_every=3, refs_reach=5)
    opts.update(kw)
    return SegmentOptions(**opts)


def write(path: Path, steps, options: SegmentOptions | None = None, close: bool = True):
    """Record `steps` ((dt, key index, value or None for a delete), ...) while a TemporalMap
    of the same changes is built beside, as a session and its recorder do."""
    w = SegmentedWriter.create_local(
        path, SourceInfo("c", "ctx"), start=T0, writer_options=options or small_segments()
    )
    live = TemporalMap(row_fn=row_of)
    t = T0
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
    if close:
        w.close()
    return w, live


def open_lazy(path: Path, spools: bool = False, **kw) -> LazyHistory:
    """The recording read back through the lazy source's history."""
    rec = SegmentedRecording(LocalStore(path), path / "wal")
    if spools:
        load_spools(rec)
    return LazyHistory(rec, row_fn=row_of, **kw)


def assert_same_everywhere(lazy: LazyHistory, live: TemporalMap, moments: list[int]) -> None:
    """Every read the views make agrees, at every moment given and for every object."""
    keys = {c.key for c in live.chains()}
    assert (lazy.first_t, lazy.last_t, lazy.change_count) == (
        live.first_t,
        live.last_t,
        live.change_count,
    )
    assert lazy.types() == live.types()
    assert lazy.namespaces() == live.namespaces()
    for k in sorted(keys):
        assert lazy.history(k) == live.history(k), k
        assert lazy.version_times(k) == live.version_times(k), k
    assert list(lazy.changes()) == list(live.changes())
    for t in moments:
        for k in keys:
            assert lazy.get(k, t) == live.get(k, t), (k, t)
            assert lazy.row(k, t) == live.row(k, t), (k, t)
            assert lazy.next_change(t, key=k) == live.next_change(t, key=k)
            assert lazy.previous_change(t, key=k) == live.previous_change(t, key=k)
        for type_ in (None, "pods"):
            assert sorted(lazy.keys_at(t, type_)) == sorted(live.keys_at(t, type_)), t
            assert lazy.rows_at(t, type_) == live.rows_at(t, type_), t
            assert lazy.state_at(t, type_) == live.state_at(t, type_), t
            assert lazy.next_change(t, type=type_) == live.next_change(t, type=type_), t
            assert lazy.previous_change(t, type=type_) == live.previous_change(t, type=type_)
        assert sorted(lazy.keys_at(t, "pods", "shop")) == sorted(live.keys_at(t, "pods", "shop"))
    for lo, hi in itertools.pairwise(moments):
        lo, hi = min(lo, hi), max(lo, hi)
        assert list(lazy.changes(lo, hi)) == list(live.changes(lo, hi))
        assert list(lazy.changes(lo, hi, "pods", "shop")) == list(
            live.changes(lo, hi, "pods", "shop")
        )
        kids, crossed = lazy.changed_keys(lo, hi, "pods")
        live_kids, live_crossed = live.changed_keys(lo, hi, "pods")
        assert crossed == live_crossed
        assert {lazy.key_of(k) for k in kids} == {live.chain_by_kid(k).key for k in live_kids}


STEPS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5_000_000_000),
        st.integers(min_value=0, max_value=len(KEYS) - 1),
        st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
    ),
    min_size=1,
    max_size=160,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, data=st.data())
def test_any_moment_and_any_history_read_back_equal_the_live_map(tmp_path_factory, steps, data):
    path = tmp_path_factory.mktemp("rec") / "r.khr"
    _, live = write(path, steps)
    lazy = open_lazy(path)
    assert len(lazy.segments) >= 1
    if live.first_t is None:
        assert lazy.change_count == 0
        return
    span = (live.first_t - 2, live.last_t + 2)
    moments = data.draw(st.lists(st.integers(*span), min_size=1, max_size=12))
    # the edges of every segment: the last change in it, and just after
    for s in lazy.segments:
        moments += [s.first_t - 1, s.first_t, s.last_t, s.last_t + 1]
    assert_same_everywhere(lazy, live, moments)


def test_a_long_recording_has_bases_and_carries_old_versions_forward(tmp_path):
    # a ConfigMap that never changes again must stay readable from any later segment, its
    # version copied into a later base rather than referenced for ever
    rnd = random.Random(3)
    steps = [(1, 4, 0)] + [
        (rnd.randrange(1, 10**9), rnd.randrange(0, 4), rnd.randrange(3)) for _ in range(600)
    ]
    _, live = write(path := tmp_path / "r.khr", steps)
    lazy = open_lazy(path)
    segs = lazy.segments
    bases = [s for s in segs if s.base]
    assert len(segs) > 20 and len(bases) > 3
    # a base refers back at most `refs_reach` segments
    for base in bases:
        assert base.refs_from >= base.seq - 5
    assert any((s.types.get("configmaps") or {}).get("records") for s in bases[2:]), (
        "the unchanged ConfigMap was carried into a later base"
    )
    moments = [rnd.randrange(live.first_t, live.last_t) for _ in range(30)]
    assert_same_everywhere(lazy, live, moments)


def test_the_cursor_moves_across_segment_boundaries_as_on_the_live_map(tmp_path):
    rnd = random.Random(5)
    steps = [
        (rnd.randrange(1, 10**9), rnd.randrange(0, 4), rnd.choice([None, 0, 1, 2]))
        for _ in range(500)
    ]
    _, live = write(path := tmp_path / "r.khr", steps)
    lazy = open_lazy(path)
    a, b = Cursor(lazy, "pods"), Cursor(live, "pods")  # type: ignore[arg-type]
    times = [live.first_t - 1, *live.version_times(KEYS[0]), live.last_t + 1]
    times += [rnd.randrange(live.first_t, live.last_t) for _ in range(40)]
    for t in times + list(reversed(times)):
        da, db = a.seek(t), b.seek(t)
        assert a.rows == b.rows, t
        assert (da.added, da.removed) == (db.added, db.removed), t


def test_what_is_still_spooled_is_read_too_after_a_crash(tmp_path):
    rnd = random.Random(7)
    steps = [
        (rnd.randrange(1, 10**9), rnd.randrange(0, 7), rnd.choice([None, 0, 1, 2, 3]))
        for _ in range(400)
    ]
    # large segments: most of it is still in the spool when the writer dies
    w, live = write(path := tmp_path / "r.khr", steps, small_segments(seal_raw=8000), close=False)
    w.flush()  # what a kill -9 leaves: the spool flushed by the timer, never sealed
    assert list((path / "wal").iterdir())
    lazy = open_lazy(path, spools=True)
    assert any(s.spool for s in lazy.segments)
    moments = [rnd.randrange(live.first_t, live.last_t + 1) for _ in range(25)]
    assert_same_everywhere(lazy, live, moments)


def test_segments_are_sealed_as_they_fill_and_the_spool_goes(tmp_path):
    rnd = random.Random(11)
    steps = [(rnd.randrange(1, 10**9), rnd.randrange(0, 7), rnd.randrange(5)) for _ in range(300)]
    w, _ = write(path := tmp_path / "r.khr", steps)
    names = sorted(p.name for p in (path / "segments").iterdir())
    assert len(names) == w.stats.segments > 5
    assert not list((path / "wal").iterdir()), "sealed spools are removed"
    # the last segment says when the recording stopped
    lazy = open_lazy(path)
    assert lazy.segments[-1].footer["closed"] >= lazy.last_t


def test_a_recording_name_is_never_reused(tmp_path):
    import pytest

    from khronoscope.errors import KhronoscopeError

    write(path := tmp_path / "r.khr", [(1, 0, 1)])
    with pytest.raises(KhronoscopeError, match="already exists"):
        SegmentedWriter.create_local(path, SourceInfo("c"))
