"""TemporalMap.put_raw and Backfill: newest state first, then older windows, as in-order puts."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.core.types import ObjectKey
from khronoscope.temporal import Cursor, TemporalMap, codec

KEYS = [ObjectKey("pods", "a", f"p{i}") for i in range(4)] + [ObjectKey("nodes", "", "n")]

Event = tuple[int, ObjectKey, Any]


def _row(_type: str, obj: dict[str, Any]) -> Any:
    return obj["v"] % 3


def _in_order(events: list[Event]) -> TemporalMap:
    m = TemporalMap(row_fn=_row, checkpoint_every=2)
    for t, k, o in events:
        if o is None:
            m.delete(k, t)
        else:
            m.put(k, t, o)
    return m


def _state_at(events: list[Event], upto: int) -> dict[ObjectKey, tuple[int, Any]]:
    """What a keyframe at `upto` holds: each live object with the time of its version."""
    st: dict[ObjectKey, tuple[int, Any]] = {}
    for t, k, o in events:
        if t > upto:
            break
        if o is None:
            st.pop(k, None)
        elif k not in st or st[k][1] != o:
            st[k] = (t, o)
    return st


def _windowed(
    events: list[Event], bounds: list[int], cursor_t: int | None, cold: bool = False
) -> TemporalMap:
    """The way a recording opens: newest state, then windows newest first (keyframe + changes).

    With `cold`, versions go cold as soon as they can and everything is packed after each
    window, so backfills splice in front of cold versions."""
    if cold:
        m = TemporalMap(row_fn=_row, checkpoint_every=2, cold_after=1, block_raw=1)
    else:
        m = TemporalMap(row_fn=_row, checkpoint_every=2)
    end = bounds[-1]
    for k, (t, o) in _state_at(events, end).items():
        m.put_raw(k, t, codec.pack(o))
    cursor = None
    if cursor_t is not None:
        cursor = Cursor(m, "pods")
        cursor.seek(end)
    for lo, hi in reversed(list(itertools.pairwise(bounds))):
        bf = m.backfill()
        start = sorted(_state_at(events, lo).items(), key=lambda kv: kv[1][0])
        for k, (t, o) in start:
            bf.put_raw(k, t, codec.pack(o))
        for t, k, o in events:
            if lo < t <= hi:
                if o is None:
                    bf.delete(k, t)
                else:
                    bf.put_raw(k, t, codec.pack(o))
        bf.commit()
        if cold:
            m.compact()
        if cursor is not None and cursor_t is not None:
            cursor.seek(cursor_t)
            assert cursor.rows == m.rows_at(cursor_t, "pods")
    return m


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Event], list[int], int | None]:
    n = draw(st.integers(min_value=1, max_value=60))
    events: list[Event] = []
    for t in range(1, n + 1):
        k = draw(st.sampled_from(KEYS))
        deleting = draw(st.booleans()) and draw(st.booleans())
        events.append((t, k, None if deleting else {"v": draw(st.integers(0, 4)), "k": k.name}))
    cuts = draw(st.lists(st.integers(1, n), max_size=4, unique=True))
    bounds = [0, *sorted(cuts), n + 1]
    bounds = sorted(set(bounds))
    cursor_t = draw(st.none() | st.integers(0, n + 1))
    return events, bounds, cursor_t


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.booleans())
def test_windowed_backfill_equals_in_order_puts(
    case: tuple[list[Event], list[int], int | None], cold: bool
):
    events, bounds, cursor_t = case
    a = _in_order(events)
    b = _windowed(events, bounds, cursor_t, cold)
    for k in KEYS:
        assert a.history(k) == b.history(k)
        for t in range(0, bounds[-1] + 2):
            assert a.get(k, t) == b.get(k, t)
            assert a.row(k, t) == b.row(k, t)
    for t in range(0, bounds[-1] + 2):
        # moment queries go through the checkpoints the backfill fixed and added
        assert set(a.keys_at(t)) == set(b.keys_at(t))
        assert a.rows_at(t, "pods") == b.rows_at(t, "pods")
    assert list(a.changes()) == list(b.changes())
    assert a.change_count == b.change_count
    assert (a.first_t, a.last_t) == (b.first_t, b.last_t)


def test_backfill_ignores_versions_the_map_already_has():
    m = TemporalMap()
    k = KEYS[0]
    m.put_raw(k, 10, codec.pack({"v": 2}))
    bf = m.backfill()
    bf.put_raw(k, 5, codec.pack({"v": 1}))
    bf.put_raw(k, 10, codec.pack({"v": 9}))  # the map wins at and after its first version
    bf.put_raw(k, 12, codec.pack({"v": 9}))
    assert bf.commit() == 1
    assert m.history(k)[0][0] == 5
    assert m.get(k, 10) == {"v": 2}
    assert m.get(k, 7) == {"v": 1}
    assert m.change_count == 2


def test_put_raw_equals_put():
    a, b = (
        TemporalMap(row_fn=_row, checkpoint_every=2),
        TemporalMap(row_fn=_row, checkpoint_every=2),
    )
    k = KEYS[1]
    for t, v in [(1, 1), (2, 1), (3, 2)]:
        assert a.put(k, t, {"v": v}) == b.put_raw(k, t, codec.pack({"v": v}))
    assert a.history(k) == b.history(k)
    assert a.rows_at(3) == b.rows_at(3)


def test_backfill_drops_a_cold_first_version_seen_twice():
    m = TemporalMap(cold_after=1, block_raw=1)
    k = KEYS[0]
    m.put_raw(k, 10, codec.pack({"v": 2}))  # a keyframe's copy of the version made at 8
    m.put_raw(k, 20, codec.pack({"v": 3}))
    m.compact()
    bf = m.backfill()
    bf.put_raw(k, 5, codec.pack({"v": 1}))
    bf.put_raw(k, 8, codec.pack({"v": 2}))
    assert bf.commit() == 1
    assert [t for t, _ in m.history(k)] == [5, 8, 20]
    assert [m.get(k, t) for t in (4, 5, 9, 10, 20)] == [
        None,
        {"v": 1},
        {"v": 2},
        {"v": 2},
        {"v": 3},
    ]
    m.compact()
    m.trim_before(21)
    assert m.get(k, 21) == {"v": 3}
    # the blocks of the version dropped by the splice and of those trimmed are gone
    assert m._colds["pods"].blocks == 1
    assert m.memory_stats().stored_bytes == m._colds["pods"].bytes + len(m._chains[k].data)
