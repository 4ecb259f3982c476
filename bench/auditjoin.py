"""`import audit --into` a segmented recording: what joining costs, and what opening the joined
recording costs in memory and time beside the same recording without its audit history.

    python bench/auditjoin.py            # 200,000 audit entries before a 200,000-change recording
    python bench/auditjoin.py --quick    # 40,000 and 40,000

The audit log is bench/audit.py's; the recording (bench/stream.py's mix, another seed) begins
after the log's last entry, as a recorder started later would. Each opening runs in a fresh
process (peak RSS is per process): open as `khronoscope open` does, read the newest moment and a
moment in the middle of the audit history (every type), and one object's history.
Prints one line per figure, then one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audit import generate
from stream import stream

from khronoscope.audit.join import import_into
from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.segments.writer import SegmentedWriter

_OPEN = """
import json, resource, sys, time
from khronoscope.printers import row_for
from khronoscope.recording.segments.source import open_segmented
path, mid = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
src = open_segmented(path, row_fn=row_for)
end = src.end_t
shown = len(src.tmap.rows_at(end, "pods"))
opened = time.perf_counter() - t0
t1 = time.perf_counter()
past = sum(len(src.tmap.rows_at(mid, t)) for t in src.tmap.types())
past_s = time.perf_counter() - t1
key = next(iter(src.tmap.keys_at(end, "pods")))
t2 = time.perf_counter()
versions = len(src.tmap.history(key))
history_s = time.perf_counter() - t2
print(json.dumps({"open_s": round(opened, 3), "rows_end": shown, "past_s": round(past_s, 3),
    "rows_past": past, "history_s": round(history_s, 3), "versions": versions,
    "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def record(path: Path, start: int, changes: int, seed: int) -> None:
    """A segmented recording of `changes` changes beginning at `start`."""
    w = SegmentedWriter.create_local(path, SourceInfo("bench"), start=start)
    first: int | None = None
    for t, key, obj in stream(max(changes // 100, 50), changes, seed):
        first = t if first is None else first
        at = start + 1 + (t - first)
        kind = ChangeKind.DELETED if obj is None else ChangeKind.MODIFIED
        w.append_change(Change(at, key, kind, obj))
    w.close()


def opened(path: Path, mid: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _OPEN, str(path), str(mid)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__)) or "."},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40,000 entries and changes")
    args = ap.parse_args()
    n = 40_000 if args.quick else 200_000
    with tempfile.TemporaryDirectory(prefix="khronoscope-bench-auditjoin-") as d:
        log = Path(d) / "audit.log"
        gen = generate(log, n, 1)
        first_t = last_t = None
        with open(log, "rb") as f:
            for line in f:
                stamp = json.loads(line)["stageTimestamp"]
                t = int(time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) * 1e9)
                first_t = t if first_t is None else first_t
                last_t = t
        assert first_t is not None and last_t is not None
        rec = Path(d) / "rec.khr"
        record(rec, last_t + 10**9, n, 7)
        plain = opened(rec, (first_t + last_t) // 2)
        t0 = time.perf_counter()
        stats = import_into([log], rec, worker=None)
        took = time.perf_counter() - t0
        size = (rec / AUDIT_COMPANION).stat().st_size
        joined = opened(rec, (first_t + last_t) // 2)
        result = {
            "audit_entries": gen["entries"],
            "recorded_changes": n,
            "imported_changes": stats.changes,
            "import_into_s": round(took, 2),
            "import_into_entries_per_s": round(gen["entries"] / took),
            "companion_bytes_per_change": round(size / max(stats.changes, 1), 1),
            "open_s_plain": plain["open_s"],
            "open_s_joined": joined["open_s"],
            "past_s_joined": joined["past_s"],
            "rows_past_joined": joined["rows_past"],
            "history_s_joined": joined["history_s"],
            "rss_mb_plain": plain["rss_mb"],
            "rss_mb_joined": joined["rss_mb"],
            "rss_mb_per_100k_imported": round(
                (joined["rss_mb"] - plain["rss_mb"]) * 100_000 / max(stats.changes, 1), 1
            ),
        }
        print(
            f"import --into: {gen['entries']:,} entries in {took:.1f} s "
            f"({result['import_into_entries_per_s']:,}/s), {stats.changes:,} changes, "
            f"companion {size / 2**20:.1f} MiB ({result['companion_bytes_per_change']} B/change)"
        )
        print(
            f"open: {plain['open_s']} s / {plain['rss_mb']} MB without the audit history, "
            f"{joined['open_s']} s / {joined['rss_mb']} MB with it "
            f"({result['rss_mb_per_100k_imported']} MB per 100k imported changes)"
        )
        print(
            f"a moment in the audit history: {joined['past_s']} s ({joined['rows_past']} rows); "
            f"one object's history: {joined['history_s']} s"
        )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
