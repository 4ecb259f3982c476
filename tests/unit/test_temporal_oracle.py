"""TemporalMap and Cursor against a naive oracle that keeps full copies of every version."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.temporal import Cursor, KeyframePolicy, TemporalMap

KEYS = [
    ObjectKey("pods", "default", "a"),
    ObjectKey("pods", "default", "b"),
    ObjectKey("pods", "kube-system", "a"),
    ObjectKey("configmaps", "default", "a"),
    ObjectKey("nodes", "", "n1"),
]
TIMES = st.integers(min_value=1, max_value=40)


class Oracle:
    """Per key, a sorted list of (t, content-or-None); the same write rules as the map."""

    def __init__(self) -> None:
        self.versions: dict[ObjectKey, list[tuple[int, Any]]] = {}

    def _in_force(self, key: ObjectKey, t: int) -> tuple[int, Any]:
        vs = self.versions.get(key, [])
        i = bisect_right([v[0] for v in vs], t) - 1
        return i, (vs[i][1] if i >= 0 else None)

    def write(self, key: ObjectKey, t: int, content: Any) -> bool:
        i, current = self._in_force(key, t)
        if content == current:  # also covers delete of something absent
            return False
        vs = self.versions.setdefault(key, [])
        if i >= 0 and vs[i][0] == t:
            vs[i] = (t, content)
        else:
            vs.insert(i + 1, (t, content))
        return True

    def get(self, key: ObjectKey, t: int) -> Any:
        return self._in_force(key, t)[1]

    def history(self, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
        out = []
        prev: Any = None
        for t, content in self.versions.get(key, []):
            if content is None:
                kind = ChangeKind.DELETED
            elif prev is None:
                kind = ChangeKind.ADDED
            else:
                kind = ChangeKind.MODIFIED
            out.append((t, kind))
            prev = content
        return out

    def all_changes(self) -> list[tuple[int, ObjectKey, ChangeKind]]:
        return sorted(
            ((t, k, kind) for k in self.versions for t, kind in self.history(k)),
            key=lambda c: (c[0], c[1]),
        )


def obj(key: ObjectKey, v: int) -> dict[str, Any]:
    return {"metadata": {"name": key.name, "namespace": key.namespace}, "v": v, "pad": "x" * 50}


def row_fn(type_: str, o: dict[str, Any]) -> tuple[str, int]:
    return (o["metadata"]["name"], o["v"])


write_op = st.tuples(st.integers(0, len(KEYS) - 1), TIMES, st.one_of(st.none(), st.integers(0, 3)))
# (keyframe policy, checkpoint interval, writes before versions go cold, cold block size): small
# values make keyframes, checkpoints and compaction frequent (a block size of 1 byte packs every
# chain as soon as it is ready, so writes land on cold versions all the time)
policies = st.sampled_from(
    [
        (KeyframePolicy(), 256, 65_536, 128 * 1024),
        (KeyframePolicy(ratio=0.5, max_run=2), 1, 3, 200),
        (KeyframePolicy(), 3, 1, 1),
        (KeyframePolicy(max_run=24), 256, 2, 1),
    ]
)


def new_map(policy) -> TemporalMap:
    return TemporalMap(
        row_fn=row_fn,
        policy=policy[0],
        checkpoint_every=policy[1],
        cold_after=policy[2],
        block_raw=policy[3],
    )


def apply_all(ops, policy) -> tuple[TemporalMap, Oracle]:
    m = new_map(policy)
    o = Oracle()
    for ki, t, v in ops:
        key = KEYS[ki]
        content = None if v is None else obj(key, v)
        expected = o.write(key, t, content)
        got = m.delete(key, t) if content is None else m.put(key, t, content)
        assert got == expected, (key, t, v)
    return m, o


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(write_op, max_size=60), policies)
def test_point_reads_and_history_match_oracle(ops, policy):
    m, o = apply_all(ops, policy)
    for key in KEYS:
        assert m.history(key) == o.history(key)
        for t in range(0, 42):
            assert m.get(key, t) == o.get(key, t), (key, t)
            exp = o.get(key, t)
            assert m.row(key, t) == (row_fn(key.type, exp) if exp is not None else None)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(write_op, max_size=60), policies)
def test_moments_and_change_log_match_oracle(ops, policy):
    m, o = apply_all(ops, policy)
    for t in range(0, 42, 3):
        for type_, ns in [(None, None), ("pods", None), ("pods", "default"), ("nodes", "")]:
            expected = {
                k: o.get(k, t)
                for k in KEYS
                if o.get(k, t) is not None
                and (type_ is None or k.type == type_)
                and (ns is None or k.namespace == ns)
            }
            assert m.state_at(t, type=type_, namespace=ns) == expected
            assert m.rows_at(t, type=type_, namespace=ns) == {
                k: row_fn(k.type, v) for k, v in expected.items()
            }
    log = o.all_changes()
    got = list(m.changes())
    assert [c.t for c in got] == sorted(c.t for c in got)
    assert sorted((c.t, c.key, c.kind) for c in got) == log
    for t1, t2 in [(0, 41), (5, 20), (20, 20), (30, 10)]:
        sub = [c for c in log if t1 <= c[0] <= t2]
        assert sorted((c.t, c.key, c.kind) for c in m.changes(t1, t2)) == sub
        pods = [c for c in sub if c[1].type == "pods" and c[1].namespace == "default"]
        assert sorted((c.t, c.key, c.kind) for c in m.changes(t1, t2, "pods", "default")) == pods


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(write_op, max_size=60), policies)
def test_next_and_previous_change_match_oracle(ops, policy):
    m, o = apply_all(ops, policy)
    log = o.all_changes()
    for t in range(0, 42):
        later = [c[0] for c in log if c[0] > t]
        earlier = [c[0] for c in log if c[0] < t]
        assert m.next_change(t) == (min(later) if later else None)
        assert m.previous_change(t) == (max(earlier) if earlier else None)
        pod_later = [c[0] for c in log if c[0] > t and c[1].type == "pods"]
        assert m.next_change(t, type="pods") == (min(pod_later) if pod_later else None)
        for key in KEYS:
            times = [h[0] for h in o.history(key)]
            nxt = [x for x in times if x > t]
            prv = [x for x in times if x < t]
            assert m.next_change(t, key=key) == (nxt[0] if nxt else None)
            assert m.previous_change(t, key=key) == (prv[-1] if prv else None)


def _write_both(m: TemporalMap, o: Oracle, write: tuple[int, int, int | None]) -> None:
    """One drawn write (key index, time, value or None: a delete) to the map and the oracle."""
    ki, wt, v = write
    key = KEYS[ki]
    content = None if v is None else obj(key, v)
    o.write(key, wt, content)
    _ = m.delete(key, wt) if content is None else m.put(key, wt, content)


def _pod_rows(o: Oracle, t: int, wanted: set[str] | None = None) -> dict[ObjectKey, Any]:
    """The oracle's pod rows at t (in the namespaces wanted)."""
    return {
        k: row_fn(k.type, o.get(k, t))
        for k in KEYS
        if k.type == "pods"
        and o.get(k, t) is not None
        and (wanted is None or k.namespace in wanted)
    }


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(write_op, max_size=50),
    st.lists(
        st.one_of(
            st.tuples(st.just("seek"), TIMES),
            st.tuples(st.just("write"), write_op),
            st.tuples(st.just("compact")),
        )
    ),
    st.sampled_from([None, "default", ("default", "kube-system")]),
    policies,
)
def test_cursor_follows_oracle_both_ways_with_late_writes(ops, moves, ns, policy):
    m, o = apply_all(ops, policy)
    cursor = Cursor(m, "pods", namespace=ns)
    wanted = {ns} if isinstance(ns, str) else (set(ns) if ns else None)
    shown: dict[ObjectKey, Any] = {}
    t = 0
    for move in moves:
        if move[0] == "seek":
            t = move[1]
        elif move[0] == "compact":
            m.compact()
        else:
            _write_both(m, o, move[1])
        delta = cursor.seek(t)
        expected = _pod_rows(o, t, wanted)
        assert cursor.rows == expected, (t, move)
        # the delta describes exactly how the view changed
        for k in delta.removed:
            shown.pop(k)
        for k in delta.added | delta.modified:
            shown[k] = cursor.rows[k]
        assert shown == expected


@given(
    st.lists(write_op, max_size=50),
    TIMES,
    st.lists(st.one_of(st.tuples(st.just("seek"), TIMES), st.tuples(st.just("write"), write_op))),
    policies,
)
def test_a_cursor_opened_at_t_then_moved_follows_the_oracle(ops, opened, moves, policy):
    m, o = apply_all(ops, policy)
    cursor = Cursor(m, "pods")
    cursor.open_at(opened)
    t = opened
    for move in [("seek", opened), *moves]:
        if move[0] == "seek":
            t = move[1]
        else:
            _write_both(m, o, move[1])
        cursor.seek(t)
        expected = _pod_rows(o, t)
        assert cursor.rows == expected, (t, move)


def test_cursor_step_costs_only_crossed_changes():
    m = TemporalMap(row_fn=row_fn)
    for i in range(2000):
        m.put(ObjectKey("pods", "default", f"p{i}"), 1, obj(ObjectKey("pods", "default", "x"), 0))
    for t in range(2, 50):
        m.put(ObjectKey("pods", "default", "p7"), t, obj(ObjectKey("pods", "default", "p7"), t))
    cursor = Cursor(m, "pods")
    cursor.seek(10)
    delta = cursor.seek(12)
    assert not delta.rebuilt and delta.crossed == 2
    assert delta.modified == {ObjectKey("pods", "default", "p7")}
    delta = cursor.seek(5)
    assert not delta.rebuilt and delta.crossed == 7
    assert cursor.rows[ObjectKey("pods", "default", "p7")] == ("p7", 5)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(write_op, st.just("compact")), max_size=60), policies)
def test_compaction_at_any_point_keeps_every_read(ops, policy):
    m = new_map(policy)
    o = Oracle()
    for op in ops:
        if op == "compact":
            m.compact()
            continue
        ki, t, v = op
        key = KEYS[ki]
        content = None if v is None else obj(key, v)
        assert (m.delete(key, t) if content is None else m.put(key, t, content)) == o.write(
            key, t, content
        )
    for key in KEYS:
        assert m.history(key) == o.history(key)
        for t in range(0, 42):
            assert m.get(key, t) == o.get(key, t), (key, t)
    for t in range(0, 42, 2):
        assert m.state_at(t) == {k: o.get(k, t) for k in KEYS if o.get(k, t) is not None}
    assert sorted((c.t, c.key, c.kind) for c in m.changes()) == o.all_changes()


def test_compaction_packs_versions_into_blocks_and_trim_frees_them():
    m = TemporalMap(row_fn=row_fn, cold_after=10, block_raw=2048)
    for t in range(1, 401):
        key = ObjectKey("pods", "default", f"p{t % 50}")
        m.put(key, t, {**obj(key, t), "status": {"t": t, "phase": "Running" * 10}})
        if t % 7 == 0:
            m.delete(ObjectKey("pods", "default", f"p{(t + 3) % 50}"), t)
    store = m._colds["pods"]
    blocks = store.blocks
    assert blocks > 1
    before = m.memory_stats()
    # every byte held is counted: the chains' own bytes plus the blocks
    chains = list(m.chains())
    assert before.stored_bytes == sum(len(c.data) for c in chains) + store.bytes
    assert store.bytes == sum(len(b) for b in store._blobs if b is not None)
    m.trim_before(390)
    after = m.memory_stats()
    # blocks whose every record was trimmed are gone
    assert store.blocks < blocks and after.stored_bytes < before.stored_bytes
    assert after.stored_bytes == sum(len(c.data) for c in m.chains()) + store.bytes
    for t in range(390, 402):
        for i in range(50):
            key = ObjectKey("pods", "default", f"p{i}")
            got = m.get(key, t)
            assert got is None or got["v"] <= t


def test_a_trimming_recorder_does_not_pile_up_dropped_blocks():
    m = TemporalMap(cold_after=1, block_raw=1)
    for t in range(1, 3001):
        key = ObjectKey("configmaps", "default", f"c{t % 10}")
        m.put(key, t, {"v": t})
        if t % 100 == 0:
            m.trim_before(t - 50)
            store = m._colds["configmaps"]
            assert len(store._blobs) <= 2 * store.blocks + 64
    assert m.get(ObjectKey("configmaps", "default", "c5"), 2995) == {"v": 2995}
    assert m.get(ObjectKey("configmaps", "default", "c5"), 2960) == {"v": 2955}


def test_long_cold_runs_read_back_after_trims_and_late_writes():
    m = TemporalMap(cold_after=1, block_raw=4096)
    key = ObjectKey("nodes", "", "n1")
    for t in range(1, 101):
        m.put(key, t, {"v": t, "pad": "x" * 100})
    m.compact()
    assert all(m.get(key, t) == {"v": t, "pad": "x" * 100} for t in range(1, 101))
    m.trim_before(37)  # in the middle of a run of ids: the first one left must keep its own
    m.put(key, 50, {"v": -50})  # a late write re-encodes from the cold version before it
    m.delete(key, 70)
    m.compact()
    for t in range(37, 101):
        expected = {"v": -50} if t == 50 else (None if t == 70 else {"v": t, "pad": "x" * 100})
        assert m.get(key, t) == expected, t


def test_late_write_lands_in_the_past():
    m = TemporalMap()
    k = ObjectKey("configmaps", "default", "cfg")
    m.put(k, 100, {"data": {"a": "1"}})
    m.put(k, 300, {"data": {"a": "3"}})
    assert m.put(k, 200, {"data": {"a": "2"}})
    assert [t for t, _ in m.history(k)] == [100, 200, 300]
    assert m.get(k, 250) == {"data": {"a": "2"}}
    assert m.get(k, 300) == {"data": {"a": "3"}}


def test_deleted_object_stays_queryable_in_the_past_and_can_be_recreated():
    m = TemporalMap()
    k = ObjectKey("pods", "default", "web")
    m.put(k, 10, {"metadata": {"uid": "u1"}})
    m.delete(k, 20)
    m.put(k, 30, {"metadata": {"uid": "u2"}})
    assert m.get(k, 15) == {"metadata": {"uid": "u1"}}
    assert m.get(k, 25) is None
    assert m.get(k, 35) == {"metadata": {"uid": "u2"}}
    assert [kind for _, kind in m.history(k)] == [
        ChangeKind.ADDED,
        ChangeKind.DELETED,
        ChangeKind.ADDED,
    ]


def test_memory_stats_count_objects_versions_and_bytes():
    m = TemporalMap()
    k = ObjectKey("pods", "default", "web")
    for t in range(100):
        m.put(
            k, t, {"metadata": {"name": "web", "resourceVersion": str(t)}, "spec": {"x": "y" * 500}}
        )
    stats = m.memory_stats()
    assert stats.objects == 1 and stats.versions == 100
    assert stats.raw_bytes > 100 * 500
    m.compact()
    packed = m.memory_stats()
    assert packed.raw_bytes == stats.raw_bytes and packed.versions == 100
    # versions packed together cost what a one-field change costs, not a full copy
    assert packed.stored_bytes < stats.raw_bytes / 10


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(write_op, max_size=60),
    TIMES,
    st.lists(write_op, max_size=10),
    policies,
)
def test_trim_keeps_every_read_from_the_trim_time_on(ops, cut, later_ops, policy):
    m, o = apply_all(ops, policy)
    cursor = Cursor(m, "pods")
    cursor.seek(1)  # a cursor built before the trim must not keep trimmed history
    m.trim_before(cut)
    # writes after the trim keep working (a recorder trims while it records)
    for ki, t, v in later_ops:
        t = max(t, cut)
        key = KEYS[ki]
        content = None if v is None else obj(key, v)
        expected = o.write(key, t, content)
        assert (m.delete(key, t) if content is None else m.put(key, t, content)) == expected
    log = [c for c in o.all_changes() if c[0] >= cut]
    for t in range(cut, 42):
        for key in KEYS:
            assert m.get(key, t) == o.get(key, t), (key, t)
        assert m.state_at(t) == {k: o.get(k, t) for k in KEYS if o.get(k, t) is not None}
        later = [c[0] for c in log if c[0] > t]
        assert m.next_change(t) == (min(later) if later else None)
        cursor.seek(t)
        assert cursor.rows == {
            k: row_fn(k.type, o.get(k, t))
            for k in KEYS
            if k.type == "pods" and o.get(k, t) is not None
        }
    assert sorted((c.t, c.key, c.kind) for c in m.changes(cut, None)) == log


def test_trim_bounds_a_long_recording_in_memory():
    m = TemporalMap(row_fn=row_fn)
    key = ObjectKey("nodes", "", "n1")
    for t in range(1, 5001):
        m.put(key, t, {"metadata": {"name": "n1"}, "v": t, "pad": "x" * 200})
        if t % 1000 == 0:
            m.trim_before(t - 100)
    for t in range(1, 200):
        m.put(ObjectKey("pods", "default", f"p{t}"), 5000 + t, obj(KEYS[0], t))
        m.delete(ObjectKey("pods", "default", f"p{t}"), 5000 + t + 1)
    m.trim_before(5300)
    stats = m.memory_stats()
    assert stats.objects == 1  # the deleted pods are gone entirely
    assert stats.versions <= 100 + 2 * 24
    assert m.get(key, 5300)["v"] == 5000
