"""Log store figures: memory per million lines (RSS and stored bytes), append rate, parse rate of
the follower, and the time to get the lines up to t (what the log pane asks at each move).

Run: python bench/logs.py [--lines 1000000] [--pods 20]
Lines are synthetic but shaped like real ones (access logs, JSON with trace ids, stack lines;
~130 bytes on average). The machine is shared by several developers: times vary by tens of
percent from run to run; memory figures are stable.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from khronoscope.cluster.logs import LogFollower, LogTuning
from khronoscope.core.types import ObjectKey
from khronoscope.sim.logs import rfc3339_nano
from khronoscope.telemetry.logstore import LogStore

T0 = 1_773_478_800 * 1_000_000_000
PATHS = ["/api/v1/orders", "/api/v1/users", "/healthz", "/api/v1/cart", "/metrics", "/login"]


def rss() -> int:
    """Resident set size of this process in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def make_line(rng: random.Random, i: int) -> str:
    kind = i % 10
    if kind < 6:
        return (
            f'10.244.{rng.randrange(256)}.{rng.randrange(256)} - - "GET {rng.choice(PATHS)}/'
            f'{rng.randrange(100000)} HTTP/1.1" {rng.choice((200, 200, 200, 201, 404, 500))} '
            f"{rng.randrange(50, 9000)} {rng.randrange(1, 900)}ms"
        )
    if kind < 9:
        return (
            f'{{"level":"{rng.choice(("info", "info", "warn", "error"))}","msg":"order '
            f'processed","order":{rng.randrange(10**6)},"trace":"{rng.getrandbits(64):016x}",'
            f'"latency_ms":{rng.random() * 100:.2f}}}'
        )
    return f"    at com.example.shop.OrderService.process(OrderService.java:{rng.randrange(900)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--pods", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(5)
    n = args.lines
    streams = [(f"pod-{p}", c) for p in range(args.pods) for c in ("app", "sidecar")]
    store = LogStore(pod_limit=2**40, total_limit=2**40)
    per = 512
    t = T0
    text_bytes = 0
    elapsed = 0.0
    gc.collect()
    before = rss()
    # lines are made batch by batch (and then only referenced by the store) so the RSS
    # growth is the store's
    for start in range(0, n, per):
        pod, c = streams[(start // per) % len(streams)]
        batch = []
        for i in range(start, min(n, start + per)):
            t += rng.randrange(0, 2_000_000)  # ~1 ms apart, some lines share a time
            line = make_line(rng, i)
            text_bytes += len(line)
            batch.append((t, line))
        started = time.perf_counter()
        store.extend("shop", pod, c, batch)
        elapsed += time.perf_counter() - started
    t_end = t
    gc.collect()
    after = rss()
    stats = store.stats()
    m = n / 1e6
    print(f"lines stored            {stats.lines:,} in {stats.chunks:,} chunks")
    print(f"text                    {text_bytes / m / 2**20:,.1f} MiB per million lines")
    print(f"stored (zstd chunks)    {stats.stored_bytes / m / 2**20:,.1f} MiB per million lines")
    print(f"RSS growth              {(after - before) / m / 2**20:,.1f} MiB per million lines")
    print(f"append (batches of 512) {n / elapsed:,.0f} lines/s")

    # one line at a time (a recording's replay, a slow container)
    single = LogStore()
    lines = [(T0 + i, make_line(rng, i)) for i in range(100_000)]
    started = time.perf_counter()
    for lt, text in lines:
        single.append("shop", "one", "app", lt, text)
    print(f"append (one by one)     {len(lines) / (time.perf_counter() - started):,.0f} lines/s")

    # the follower's work per line: parse the kubelet timestamp, dedupe, store
    raw = [f"{rfc3339_nano(lt)} {text}".encode() for lt, text in lines]
    follower = LogFollower(
        None,  # type: ignore[arg-type]  # no I/O here: only the parsing path
        LogStore(),
        ObjectKey("pods", "shop", "parse"),
        "app",
        lambda key: None,
        LogTuning(),
    )
    started = time.perf_counter()
    for i in range(0, len(raw), 512):
        follower._ingest_lines(raw[i : i + 512])
    print(f"follower parse+store    {len(raw) / (time.perf_counter() - started):,.0f} lines/s")

    # queries: what the pane asks when the cursor moves
    pod = streams[0][0]
    total = store.count("shop", pod)
    probes = [rng.randrange(T0, t_end) for _ in range(200)]
    started = time.perf_counter()
    for p in probes:
        store.count("shop", pod, p)
    count_us = (time.perf_counter() - started) / len(probes) * 1e6
    print(f"count(t), one pod       {count_us:,.1f} us  ({total:,} lines in the pod)")
    times = []
    for p in probes[:40]:
        started = time.perf_counter()
        got = store.tail("shop", pod, until=p, limit=50_000)
        times.append(time.perf_counter() - started)
    print(
        f"lines up to t (<=50k)   median {statistics.median(times) * 1000:,.1f} ms, "
        f"max {max(times) * 1000:,.1f} ms  (last got {len(got):,})"
    )
    times = []
    for p in probes[:100]:
        started = time.perf_counter()
        store.lines("shop", pod, after=p, until=p + 5_000_000_000)
        times.append(time.perf_counter() - started)
    print(f"5 s window after t      median {statistics.median(times) * 1000:,.2f} ms")


if __name__ == "__main__":
    main()
