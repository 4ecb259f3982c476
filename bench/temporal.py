"""TemporalMap benchmark: ingest, storage, point and moment queries, cursor steps.

    python bench/temporal.py            # ~10,000 objects, 1,000,000 changes (several minutes)
    python bench/temporal.py --quick    # ~1,000 objects, 100,000 changes

Prints one line per figure, then one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stream import stream

from khronoscope.temporal import Cursor, TemporalMap


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pod_row(type_name: str, obj: dict) -> tuple:
    """A row like the pods table keeps (a stand-in for khronoscope.printers until it lands)."""
    if type_name != "pods":
        return (obj["metadata"]["name"],)
    st = obj.get("status", {})
    cs = st.get("containerStatuses", [])
    waiting = next(
        (c["state"]["waiting"].get("reason") for c in cs if "waiting" in c["state"]), None
    )
    return (
        obj["metadata"]["name"],
        sum(1 for c in cs if c.get("ready")),
        len(cs),
        waiting or st.get("phase"),
        sum(c.get("restartCount", 0) for c in cs),
        obj["metadata"].get("creationTimestamp"),
        obj["spec"].get("nodeName"),
        st.get("podIP"),
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--objects", type=int)
    ap.add_argument("--changes", type=int)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    objects = args.objects or (1_000 if args.quick else 10_000)
    changes = args.changes or (100_000 if args.quick else 1_000_000)
    rnd = random.Random(args.seed)

    tmap = TemporalMap(row_fn=pod_row)
    put, delete = tmap.put, tmap.delete
    ingest_s = 0.0
    n = 0
    clock = time.perf_counter
    rss0 = rss_mb()
    for t, key, obj in stream(objects, changes, args.seed):
        if obj is None:
            t0 = clock()
            delete(key, t)
            ingest_s += clock() - t0
        else:
            t0 = clock()
            put(key, t, obj)
            ingest_s += clock() - t0
        n += 1
        if n % 200_000 == 0:
            print(f"  ... {n:,} changes ingested", file=sys.stderr)
    stats = tmap.memory_stats()
    figures: dict[str, float] = {
        "changes": n,
        "objects": stats.objects,
        "ingest_changes_per_s": n / ingest_s,
        "stored_bytes_per_change": (stats.stored_bytes + stats.dictionary_bytes) / n,
        "stored_ratio_vs_raw_msgpack": stats.ratio,
        "hot_bytes": stats.hot_bytes,
        "rss_mb": rss_mb(),
        "rss_growth_mb": rss_mb() - rss0,
    }

    t_first, t_last = tmap.first_t, tmap.last_t
    assert t_first is not None and t_last is not None
    pod_keys = [c.key for c in tmap.chains("pods")]

    # one object at a random t within its life
    samples = []
    for _ in range(3000):
        key = rnd.choice(pod_keys)
        times = tmap.version_times(key)
        t = rnd.randint(times[0], times[-1]) if len(times) > 1 else times[0]
        t0 = clock()
        tmap.get(key, t)
        samples.append((clock() - t0) * 1e6)
    figures["get_us_median"] = statistics.median(samples)
    figures["get_us_p99"] = pct(samples, 0.99)

    # the pods table at random t: what a view needs (the keys and versions in force, and the
    # rows of a screenful), the rows of every pod (each printed unless kept), all pods decoded
    rows_ms, state_ms, screen_ms = [], [], []
    for i in range(7):
        t = rnd.randint(t_first, t_last)
        t0 = clock()
        view = Cursor(tmap, "pods")
        view.seek(t)
        view.rows.pick(sorted(view.versions)[:40])
        screen_ms.append((clock() - t0) * 1e3)
        t0 = clock()
        rows = tmap.rows_at(t, "pods")
        rows_ms.append((clock() - t0) * 1e3)
        if i < 5:
            t0 = clock()
            state = tmap.state_at(t, "pods")
            state_ms.append((clock() - t0) * 1e3)
            assert len(state) == len(rows)
    figures["pods_at_t"] = len(rows)
    figures["table_screen_ms_median"] = statistics.median(screen_ms)
    figures["rows_at_ms_median"] = statistics.median(rows_ms)
    figures["state_at_pods_ms_median"] = statistics.median(state_ms)
    figures["state_at_pods_ms_p99"] = max(state_ms)

    # cursor steps: across the next change of pods, and across 1,000 changes, both ways
    cursor = Cursor(tmap, "pods")
    one, thousand = [], []
    for _ in range(200):
        t = rnd.randint(t_first, t_last - (t_last - t_first) // 10)
        cursor.seek(t)
        nxt = tmap.next_change(t, type="pods")
        if nxt is None:
            continue
        t0 = clock()
        d = cursor.seek(nxt)
        one.append((clock() - t0) * 1e3)
        assert d.crossed >= 1
        t0 = clock()
        cursor.seek(t)
        one.append((clock() - t0) * 1e3)
    for _ in range(50):
        t = rnd.randint(t_first, t_last - (t_last - t_first) // 10)
        cursor.seek(t)
        far = None
        for i, ch in enumerate(tmap.changes(t + 1, None, "pods")):
            if i == 999:
                far = ch.t
                break
        if far is None:
            continue
        t0 = clock()
        d = cursor.seek(far)
        thousand.append((clock() - t0) * 1e3)
        t0 = clock()
        cursor.seek(t)
        thousand.append((clock() - t0) * 1e3)
    figures["cursor_step_1_ms_median"] = statistics.median(one)
    figures["cursor_step_1_ms_p99"] = pct(one, 0.99)
    figures["cursor_step_1000_ms_median"] = statistics.median(thousand)
    figures["cursor_step_1000_ms_p99"] = pct(thousand, 0.99)

    for name, value in figures.items():
        print(f"{name:34} {value:,.3f}" if isinstance(value, float) else f"{name:34} {value:,}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
