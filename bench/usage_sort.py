"""Sorting a pods table by CPU or memory usage at t (shift-C / shift-M, as in k9s).

Usage is not part of the stored rows: it is looked up in the metrics store at the cursor's t, so
a usage sort is redone whenever t moves (playing, stepping). This prints what that costs for a
table of N pods with a sample every 15 s: the first sort, a re-sort at a random t (median,
p95), and a re-sort per frame while playing at 64x (only the rows whose sample changed move).

    python bench/usage_sort.py [--pods 10000] [--minutes 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.metricstore import MetricStore
from khronoscope.tui.tablemodel import TableModel
from khronoscope.tui.usage import TableTelemetry

NS = 1_000_000_000
T0 = 1_800_000_000 * NS


class _Source:
    """Just what TableTelemetry reads: the metrics store (no log marks, no TemporalMap reads
    for the CPU and MEM columns)."""

    def __init__(self, metrics: MetricStore) -> None:
        self.metrics = metrics


def ms(seconds: float) -> str:
    """Milliseconds, 1 decimal."""
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    """Build the samples, sort, re-sort at random moments, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(1)
    metrics = MetricStore(max_samples=10**9)
    keys = [ObjectKey("pods", f"ns-{i % 20}", f"pod-{i:05d}") for i in range(args.pods)]
    samples = args.minutes * 4
    # metrics-server stamps a pod's sample with its node's scrape window: 100 nodes, each
    # scraped at its own offset within the 15 s
    offset = {key: (i % 100) * 150_000_000 for i, key in enumerate(keys)}
    for s in range(samples):
        for key in keys:
            t = T0 + s * 15 * NS + offset[key]
            metrics.add(t, key, rng.randrange(1, 2000) * 1_000_000, rng.randrange(1, 4096) * 2**20)
    telemetry = TableTelemetry(_Source(metrics), "pods")  # type: ignore[arg-type]
    # the columns are not read by a usage sort: none needed
    model = TableModel("pods", None, show_namespace=True)  # type: ignore[arg-type]
    model.stored = dict.fromkeys(keys)
    now = [T0 + samples * 15 * NS]

    t0 = time.perf_counter()
    model.set_value_sort(-100, "CPU", lambda ks: telemetry.sort_values(ks, now[0], "CPU"), True)
    first = time.perf_counter() - t0
    again = []
    for _ in range(40):
        now[0] = T0 + rng.randrange(samples * 15) * NS
        t0 = time.perf_counter()
        model.resort()
        again.append(time.perf_counter() - t0)
    again.sort()
    # playing at 64x: the app's 20 Hz timer moves t by 3.2 s a frame
    frames = []
    now[0] = T0 + 60 * NS
    model.resort()
    for _ in range(200):
        now[0] += 3_200_000_000
        t0 = time.perf_counter()
        model.resort()
        frames.append(time.perf_counter() - t0)
    frames.sort()
    top = model.key_at(0)
    print(f"usage sort: {args.pods} pods, a sample every 15 s for {args.minutes} min")
    print(f"first sort by CPU:        {ms(first)}")
    print(
        f"re-sort at a random t:    median {ms(statistics.median(again))}, "
        f"p95 {ms(again[int(len(again) * 0.95) - 1])}"
    )
    print(
        f"re-sort per frame at 64x: median {ms(statistics.median(frames))}, "
        f"p95 {ms(frames[int(len(frames) * 0.95) - 1])}"
    )
    print(f"(hottest pod at the last t: {top.namespace}/{top.name})")


if __name__ == "__main__":
    main()
