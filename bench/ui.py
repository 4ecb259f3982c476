"""UI figures: the headless browser over a 10,000-pod cluster.

    python bench/ui.py [--pods 10000] [--history 60000] [--quick]

Prints: time to the first full table after sync, time per repaint while live churn runs, time
to switch type, time to show the table at a random past t, memory. Targets (issue 5): first
table <= 1 s after sync, repaint <= 50 ms, switch type <= 200 ms, past t <= 100 ms.
The source is the synthetic scale scenario (khronoscope.tui.testing) until the simulated
cluster's scale scenario can feed a session here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from khronoscope.core.timefmt import NS
from khronoscope.tui import testing
from khronoscope.tui.app import create_app
from khronoscope.tui.settings import BrowserSettings
from khronoscope.tui.widgets.table import ResourceTable

SIZE = (160, 45)
GC_PAUSES: list[tuple[int, float]] = []
_gc_start = [0.0]


def _gc_watch(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        GC_PAUSES.append((info["generation"], time.perf_counter() - _gc_start[0]))


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ms(seconds: float) -> str:
    """Seconds as milliseconds, aligned."""
    return f"{seconds * 1000:7.1f} ms"


def summary(values: list[float]) -> str:
    """Median, p95 and max of timings."""
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {ms(statistics.median(values))}  p95 {ms(p95)}  max {ms(values[-1])}"


def frame(table: ResourceTable) -> float:
    """Draw every visible line of the table (what a repaint costs the widget)."""
    table._styles_cache.clear()
    started = time.perf_counter()
    table.render_lines(table.size.region)
    return time.perf_counter() - started


async def run(pods: int, history: int, quick: bool, freeze: bool) -> None:
    """Build the cluster and its past, open the app headless, time what a user waits for."""
    print(f"khronoscope UI bench: {pods} pods, {history} changes of history, terminal {SIZE}")
    print("(2 shared cores: figures are noisy; run twice)")
    rss0 = rss_mb()
    started = time.perf_counter()
    src = testing.scale_source(pods, live=True)
    sync_s = time.perf_counter() - started
    print(f"sync (ingest {pods} pods into the TemporalMap)      {ms(sync_s)}")

    # a past to travel in: `history` changes over the 10 minutes after the sync
    churn = testing.Churn(src, pods)
    span = 600 * NS
    batches = max(history // 100, 1)
    for b in range(batches):
        for _ in churn.step(testing.T0 + (b + 1) * span // batches, 100):
            pass
    end = testing.T0 + span
    now = [end + NS]
    gc.collect()
    rss1 = rss_mb()
    stats = src.tmap.memory_stats()
    print(
        f"history written: {stats.versions} versions, store {stats.stored_bytes / 1e6:.1f} MB "
        f"compressed + {stats.hot_bytes / 1e6:.1f} MB hot"
    )

    gc.callbacks.append(_gc_watch)
    app = create_app(src, BrowserSettings(clock=lambda: now[0], refresh_hz=4, gc_freeze=freeze))
    t_app = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.browser
        table = screen.query_one(ResourceTable)
        deadline = time.perf_counter() + 30
        while table.model is None or len(table.model) < pods:
            if time.perf_counter() > deadline:
                raise SystemExit("the table never showed every pod (see the app's log)")
            await pilot.pause(0.01)
        first = time.perf_counter() - t_app
        print(
            f"first full table: app start -> {pods} rows drawn  {ms(first)}  "
            f"(of which the view: cursor + model {screen.last_seek_ms:.1f} ms, "
            f"one frame {frame(table) * 1000:.1f} ms)"
        )

        # live churn: 50 changes per 250 ms tick (200 changes/s), coalesced into one update
        updates: list[float] = []
        frames: list[float] = []
        for _ in range(10 if quick else 40):
            now[0] += NS // 4
            for _ in churn.step(now[0], 50):
                pass
            t0 = time.perf_counter()
            screen.tick()
            updates.append(time.perf_counter() - t0)
            frames.append(frame(table))
        total = [u + f for u, f in zip(updates, frames, strict=True)]
        print(f"live repaint (200 changes/s, 4 Hz): update {summary(updates)}")
        print(f"                                    frame  {summary(frames)}")
        print(f"                                    total  {summary(total)}")

        # switch type: pods -> deployments -> pods (the way back rebuilds 10,000 rows)
        to_other: list[float] = []
        to_pods: list[float] = []
        for _ in range(3 if quick else 6):
            t0 = time.perf_counter()
            screen.run_command("svc")
            frame(table)
            to_other.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            screen.run_command("pods")
            frame(table)
            to_pods.append(time.perf_counter() - t0)
        print(f"switch type -> services (small):  {summary(to_other)}")
        print(f"switch type -> pods ({pods}):    {summary(to_pods)}")

        # random past t: from wherever the cursor is, jump to a random moment of the history
        rng = random.Random(42)
        jumps: list[float] = []
        for _ in range(10 if quick else 30):
            target = testing.T0 + rng.randrange(span)
            t0 = time.perf_counter()
            app.playback.seek(target)
            screen.tick()
            frame(table)
            jumps.append(time.perf_counter() - t0)
        print(f"table at a random past t:          {summary(jumps)}")

        # small steps back in time (a scrub): one second at a time
        steps: list[float] = []
        t = testing.T0 + span // 2
        for _ in range(20):
            t -= NS
            t0 = time.perf_counter()
            app.playback.seek(t)
            screen.tick()
            frame(table)
            steps.append(time.perf_counter() - t0)
        print(f"scrub back 1 s per step:           {summary(steps)}")

        # YAML of one pod (the only place a full object is decoded)
        app.playback.go_live()
        screen.tick()
        for attempt in ("first time (loads the YAML lexer)", "again"):
            t0 = time.perf_counter()
            await pilot.press("y")
            await pilot.pause()
            shown = time.perf_counter() - t0
            await pilot.press("escape")
            await pilot.pause()
            print(f"YAML of the selected pod, {attempt}: {ms(shown)}")
        gc.collect()
        rss2 = rss_mb()
    gc.callbacks.remove(_gc_watch)
    full = [p for g, p in GC_PAUSES if g == 2]
    frozen = " (gc.freeze() once the first table was up)" if freeze else " (no gc.freeze())"
    print(
        f"GC while the UI ran: {len(GC_PAUSES)} collections, {len(full)} full, longest full "
        f"{max(full, default=0) * 1000:.1f} ms{frozen}"
    )
    print(
        f"memory: RSS {rss0:.0f} MB at start, {rss1:.0f} MB with the history "
        f"(+{rss1 - rss0:.0f}), {rss2:.0f} MB with the app (+{rss2 - rss1:.0f})"
    )


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=60_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="do not gc.freeze() once the table is up"
    )
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL", "")
    history = args.history if not args.quick else 10_000
    asyncio.run(run(args.pods, history, args.quick, not args.no_gc_freeze))


if __name__ == "__main__":
    main()
