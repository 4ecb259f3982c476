"""The metric store: the sample in force at t, unchanged timestamps skipped, bounded."""

from __future__ import annotations

from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.metricstore import MAX_AGE_NS, MetricStore, Sample

POD = ObjectKey("pods", "shop", "api-1")
NODE = ObjectKey("nodes", "", "node-1")
S = 1_000_000_000


def test_sample_in_force_at_t_and_stale_timestamps_skipped():
    store = MetricStore()
    assert store.add(15 * S, POD, 100, 1000, {"app": (80, 900), "proxy": (20, 100)})
    assert not store.add(15 * S, POD, 999, 999)  # polled again, same timestamp
    assert store.add(30 * S, POD, 200, 2000, {"app": (150, 1800), "proxy": (50, 200)})
    assert store.at(POD, 14 * S) is None
    assert store.at(POD, 15 * S) == Sample(15 * S, 100, 1000)
    assert store.at(POD, 29 * S) == Sample(15 * S, 100, 1000)
    assert store.at(POD, 31 * S) == Sample(30 * S, 200, 2000)
    assert store.at(POD, 31 * S, container="proxy") == Sample(30 * S, 50, 200)
    assert store.at(POD, 30 * S + MAX_AGE_NS + 1) is None  # too old to be "now"
    assert store.containers(POD) == ["app", "proxy"]
    assert [s.cpu for s in store.series(POD)] == [100, 200]
    assert store.has_type("pods") and not store.has_type("nodes")
    assert store.range(POD) == (15 * S, 30 * S)


def test_insert_many_in_any_order():
    store = MetricStore()
    store.add(100 * S, NODE, 5, 5)
    added = store.insert_many(
        [(t * S, NODE, t, t * 10, {}) for t in (40, 10, 100, 70)]  # 100 is already there
    )
    assert added == 3
    assert [s.t // S for s in store.series(NODE)] == [10, 40, 70, 100]
    assert store.at(NODE, 100 * S).cpu == 5


def test_bounded_oldest_quarter_dropped():
    store = MetricStore(max_samples=1000)
    for i in range(2000):
        store.add(i * S, POD, i, i)
    assert store.samples <= 1000
    assert store.dropped_before is not None
    first = store.series(POD)[0].t
    assert first > store.dropped_before - 1 and store.at(POD, 1999 * S).cpu == 1999


def test_sinks_see_each_new_sample():
    store = MetricStore()
    seen = []
    store.add_sink(lambda t, key, cpu, mem, cs: seen.append((t, key.name, cpu, mem, cs)))
    store.add(S, POD, 1, 2, {"app": (1, 2)})
    store.add(S, POD, 1, 2, {"app": (1, 2)})
    assert seen == [(S, "api-1", 1, 2, {"app": (1, 2)})]


def test_trimmed_to_a_window_reads_the_same_and_forgets_pods_that_are_gone():
    store = MetricStore()
    gone = ObjectKey("pods", "shop", "api-0")
    store.add(10 * S, gone, 1, 1, {"app": (1, 1)})
    for i in range(1, 400):
        store.add(i * 15 * S, POD, i, i * 10, {"app": (i, i)})
    cut = 3000 * S
    before = [store.at(POD, t, c) for t in range(cut, 400 * 15 * S, 7 * S) for c in ("", "app")]
    assert store.trim_before(cut) > 0
    after = [store.at(POD, t, c) for t in range(cut, 400 * 15 * S, 7 * S) for c in ("", "app")]
    assert after == before
    assert store.series(POD)[0].t == 199 * 15 * S  # the sample in force at the cut stays
    assert store.at(gone, cut) is None and store.containers(gone) == []
    assert store.samples == 2 * len(store.series(POD))
    assert store.dropped_before == cut
