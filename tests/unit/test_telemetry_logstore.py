"""The log store: lines as of t, merged containers, compression, limits, out-of-order loads."""

from __future__ import annotations

import random

from khronoscope.telemetry.logstore import LogStore

NS = "shop"


def fill(store: LogStore, pod: str, container: str, times: list[int]) -> list[tuple[int, str]]:
    lines = [(t, f"{container} line {i} at {t}") for i, t in enumerate(times)]
    store.extend(NS, pod, container, lines)
    return lines


def test_lines_at_t_are_exactly_those_up_to_t():
    store = LogStore(chunk_lines=64)  # many sealed chunks
    rng = random.Random(3)
    times = sorted(rng.randrange(0, 10_000) for _ in range(2_000))  # duplicates included
    lines = fill(store, "api", "app", times)
    for t in [-1, 0, 1, 17, 5_000, times[100], times[100] - 1, times[-1], 10**9]:
        want = [(lt, text) for lt, text in lines if lt <= t]
        got = store.lines(NS, "api", until=t)
        assert [(ln.t, ln.text) for ln in got] == want
        assert store.count(NS, "api", t) == len(want)
    # a window (after, until]
    got = store.lines(NS, "api", after=times[500], until=times[900])
    assert [(ln.t, ln.text) for ln in got] == [x for x in lines if times[500] < x[0] <= times[900]]


def test_containers_merge_by_time_and_filter():
    store = LogStore(chunk_lines=8)
    fill(store, "web", "app", list(range(0, 100, 2)))
    fill(store, "web", "sidecar", list(range(1, 100, 2)))
    merged = store.lines(NS, "web")
    assert [ln.t for ln in merged] == list(range(100))
    assert {ln.container for ln in merged[:2]} == {"app", "sidecar"}
    assert [ln.t for ln in store.lines(NS, "web", container="sidecar")][:3] == [1, 3, 5]
    assert store.containers(NS, "web") == ["app", "sidecar"]
    assert store.count(NS, "web", 9) == 10
    assert store.count(NS, "web", 9, container="app") == 5


def test_tail_gives_the_last_lines_before_t():
    store = LogStore(chunk_lines=16)
    fill(store, "p", "c", list(range(1000)))
    tail = store.tail(NS, "p", until=499, limit=10)
    assert [ln.t for ln in tail] == list(range(490, 500))


def test_a_clock_going_back_is_stored_in_order():
    store = LogStore()
    assert store.append(NS, "p", "c", 100, "a") == 100
    assert store.append(NS, "p", "c", 90, "b") == 100  # kept at the previous time
    assert [ln.text for ln in store.lines(NS, "p", until=100)] == ["a", "b"]


def test_compressed_and_counted():
    store = LogStore(chunk_lines=1024)
    text = "GET /api/v1/orders/{} 200 12ms user=alice trace=abcdef0123456789"
    store.extend(NS, "p", "c", [(i * 1000, text.format(i)) for i in range(10_000)])
    stats = store.stats()
    assert stats.lines == 10_000 and stats.chunks == 9
    assert stats.stored_bytes < stats.text_bytes / 3  # zstd on repetitive log lines
    assert store.lines(NS, "p", after=5_000_000, until=5_002_000)[0].text == text.format(5001)


def test_per_pod_limit_drops_oldest_and_says_so():
    store = LogStore(pod_limit=40_000, chunk_lines=100)
    rng = random.Random(1)
    # incompressible text so the limit is reached quickly
    lines = [
        (i, "".join(rng.choice("abcdefghij0123456789") for _ in range(60))) for i in range(3000)
    ]
    store.extend(NS, "big", "c", lines)
    store.extend(NS, "small", "c", [(5, "kept")])
    assert store.pod_size(NS, "big") <= 40_000
    kept = store.lines(NS, "big")
    assert kept[-1].t == 2999  # the newest lines stay
    dropped = store.dropped(NS, "big")
    assert len(dropped) == 1
    d = dropped[0]
    assert d.lines == 3000 - len(kept) and d.until == kept[0].t - 1
    assert "per-pod limit" in d.reason
    assert [ln.text for ln in store.lines(NS, "small")] == ["kept"]  # other pods untouched
    assert store.dropped(NS, "small") == []


def test_total_limit_drops_the_oldest_chunks_of_any_pod():
    store = LogStore(total_limit=60_000, chunk_lines=100)
    rng = random.Random(2)

    def junk(n, start):
        return [
            (start + i, "".join(rng.choice("abcdefghij0123456789") for _ in range(60)))
            for i in range(n)
        ]

    store.extend(NS, "old", "c", junk(1000, 0))
    store.extend(NS, "new", "c", junk(1000, 10_000))
    assert store.size <= 60_000
    assert store.dropped(NS, "old") and "total limit" in store.dropped(NS, "old")[0].reason
    assert store.lines(NS, "new")[-1].t == 10_999
    assert not store.dropped(NS, "new")


def test_older_batches_are_put_before_and_middle_ones_merged():
    store = LogStore(chunk_lines=10)
    store.extend(NS, "p", "c", [(t, f"l{t}") for t in range(100, 200)])
    store.load(NS, "p", "c", [(t, f"l{t}") for t in range(0, 100)])  # older: prepended
    assert [ln.t for ln in store.lines(NS, "p")] == list(range(200))
    store.load(NS, "p", "c", [(150, "late")])  # in the middle: merged
    got = store.lines(NS, "p", after=149, until=150)
    assert [ln.text for ln in got] == ["l150", "late"]
    assert store.count(NS, "p") == 201


def test_sinks_see_stored_lines_and_notes_are_kept():
    store = LogStore()
    seen = []
    store.add_sink(lambda ns, pod, c, t, text: seen.append((pod, c, t, text)))
    store.append(NS, "p", "c", 10, "x")
    store.append(NS, "p", "c", 5, "y")
    assert seen == [("p", "c", 10, "x"), ("p", "c", 10, "y")]
    store.note(NS, "p", "c", 7, "container restarted")
    assert [n.text for n in store.notes(NS, "p", until=10)] == ["container restarted"]
    assert store.notes(NS, "p", until=6) == []
