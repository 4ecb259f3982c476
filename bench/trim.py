"""Memory of a long-running recorder's store, with and without trimming old history.

    python bench/trim.py [--changes 500000] [--window-s 60]

Feeds bench/stream.py's stream into two TemporalMaps (one trimmed every 10,000 changes to the
last `--window-s` seconds of stream time, as `khronoscope record` does) and prints stored bytes,
versions and RSS growth as the stream goes on; ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stream import stream

from khronoscope.temporal import TemporalMap


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(changes: int, window_ns: int | None) -> dict[str, float]:
    """Ingest the stream; trim when `window_ns` is set; return the last figures."""
    gc.collect()
    base = rss_mb()
    tmap = TemporalMap()
    row: dict[str, float] = {}
    for n, (t, key, obj) in enumerate(stream(10_000, changes, 1), 1):
        if obj is None:
            tmap.delete(key, t)
        else:
            tmap.put(key, t, obj)
        if n % 10_000 == 0 and window_ns is not None:
            tmap.trim_before(t - window_ns)
        if n % (changes // 5) == 0:
            s = tmap.memory_stats()
            row = {
                "changes": n,
                "versions": s.versions,
                "objects": s.objects,
                "stored_mb": (s.stored_bytes + s.hot_bytes) / 2**20,
                "rss_growth_mb": rss_mb() - base,
            }
            label = "trimmed" if window_ns else "full"
            print(
                f"{label:8} {n:>9,} changes: {s.versions:>9,} versions, {s.objects:>7,} "
                f"objects, {row['stored_mb']:7.1f} MiB stored, RSS +{row['rss_growth_mb']:.0f} MiB"
            )
    del tmap
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=500_000)
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--mode", choices=["trimmed", "full"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode:
        window = int(args.window_s * 1e9) if args.mode == "trimmed" else None
        print(json.dumps(run(args.changes, window)))
        return
    # each mode in its own process, so one's freed memory does not blur the other's RSS
    results = {}
    for mode in ("trimmed", "full"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--mode",
                mode,
                "--changes",
                str(args.changes),
                "--window-s",
                str(args.window_s),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        print("\n".join(out[:-1]))
        results[mode] = json.loads(out[-1])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
