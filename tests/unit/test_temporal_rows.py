"""Rows are computed for the versions a view reads, never per version written, and a bounded
number of them is kept; what they read is always the row of the version in force."""

from __future__ import annotations

from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.temporal import Cursor, TemporalMap


def pod(name: str, v: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "v": v, "pad": "x" * 300}


class Counting:
    """A row function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, type_: str, o: dict[str, Any]) -> tuple[str, int]:
        self.calls += 1
        return (o["metadata"]["name"], o["v"])


def test_writes_compute_no_row_and_reads_keep_a_bounded_number():
    fn = Counting()
    m = TemporalMap(row_fn=fn, row_cache=500, cold_after=1000, block_raw=8192)
    keys = [ObjectKey("pods", "default", f"p{i}") for i in range(300)]
    for t in range(1, 41):
        for i, key in enumerate(keys):
            m.put(key, t * 1000 + i, pod(key.name, t))
    assert fn.calls == 0  # 12,000 versions written, none printed
    assert m.memory_stats().cached_rows == 0
    for t in range(1, 41):
        rows = m.rows_at(t * 1000 + 999, "pods")
        assert rows == {k: (k.name, t) for k in keys}
    assert fn.calls == 12_000
    assert m.memory_stats().cached_rows == 500  # the most recently read, no more


def test_rows_read_again_are_not_recomputed():
    fn = Counting()
    m = TemporalMap(row_fn=fn)
    keys = [ObjectKey("pods", "default", f"p{i}") for i in range(50)]
    for i, key in enumerate(keys):
        m.put(key, 10 + i, pod(key.name, 1))
    m.put(keys[0], 100, pod(keys[0].name, 2))
    assert m.rows_at(90, "pods") == {k: (k.name, 1) for k in keys}
    assert fn.calls == 50
    # 49 of the 50 versions in force at 200 were already read at 90
    assert m.rows_at(200, "pods")[keys[0]] == (keys[0].name, 2)
    assert fn.calls == 51
    assert m.row(keys[3], 95) == (keys[3].name, 1)
    assert fn.calls == 51


def test_a_late_write_at_the_same_time_shows_its_new_row():
    m = TemporalMap(row_fn=Counting())
    key = ObjectKey("pods", "default", "a")
    m.put(key, 10, pod("a", 1))
    m.put(key, 20, pod("a", 2))
    cursor = Cursor(m, "pods")
    cursor.seek(15)
    assert cursor.rows[key] == ("a", 1)
    assert m.put(key, 10, pod("a", 7))  # replaces the version at 10
    delta = cursor.seek(15)
    assert key in delta.modified
    assert cursor.rows[key] == ("a", 7)
    assert m.row(key, 12) == ("a", 7)


def test_a_cursor_move_computes_no_row_until_one_is_read():
    fn = Counting()
    m = TemporalMap(row_fn=fn)
    keys = [ObjectKey("pods", "default", f"p{i}") for i in range(2000)]
    for key in keys:
        m.put(key, 1, pod(key.name, 0))
    for t in range(2, 500):
        m.put(keys[t % 2000], t, pod(keys[t].name, t))
    cursor = Cursor(m, "pods")
    cursor.seek(1)
    delta = cursor.seek(499)
    assert len(cursor.rows) == 2000
    assert len(delta.modified) == 498
    assert fn.calls == 0
    assert cursor.rows[keys[7]] == (keys[7].name, 7)
    expected = {k: (k.name, i if i >= 2 else 0) for i, k in enumerate(keys[:10])}
    assert cursor.rows.pick(keys[:10]) == expected
    assert fn.calls == 10


def test_a_table_bigger_than_the_cache_read_whole_again_is_not_printed_again():
    fn = Counting()
    m = TemporalMap(row_fn=fn, row_cache=500)
    keys = [ObjectKey("pods", "default", f"p{i}") for i in range(2000)]
    for i, key in enumerate(keys):
        m.put(key, 10 + i, pod(key.name, 1))
    assert len(m.rows_at(5000, "pods")) == 2000
    assert m.rows_at(6000, "pods") == {k: (k.name, 1) for k in keys}  # a jump, same versions
    assert fn.calls == 2000
    assert m.memory_stats().cached_rows == 2000
