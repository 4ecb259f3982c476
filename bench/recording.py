"""Recording benchmark: bytes on disk per change, write throughput, opening and seeking.

    python bench/recording.py            # ~10,000 objects, 1,000,000 changes (a few minutes)
    python bench/recording.py --quick    # ~1,000 objects, 100,000 changes

Targets (issue 8): bytes on disk <= 5% of the raw JSON of the changes; opening a 1,000,000-change
recording and showing its last moment <= 3 s. "Showing" here is what the app needs for its first
frame: the source opened (newest moment loaded) and the rows of the pods table at the end.
Opening is measured on the cleanly closed file (final keyframe + index) and on the same file as a
crash leaves it (no final keyframe, no index: the last periodic keyframe and the tail after it).
The machine is shared (2 cores, several developers): timings are noisy.
Prints one line per figure, then one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import orjson
from stream import stream
from temporal import pod_row, rss_mb

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording import format as fmt
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.source import RecordingSource
from khronoscope.recording.writer import RecordingWriter
from khronoscope.temporal import Cursor, TemporalMap


def write(path: Path, objects: int, changes: int, seed: int) -> dict:
    """Record the stream; time only the writer (generating the stream is not recording)."""
    w = RecordingWriter.create(path, SourceInfo("bench", "bench", "v1.31.0"))
    raw_json = 0
    in_writer = 0.0
    n = 0
    live: set = set()
    for t, key, obj in stream(objects, changes, seed):
        if obj is None:
            kind = ChangeKind.DELETED
            live.discard(key)
        else:
            raw_json += len(orjson.dumps(obj))
            kind = ChangeKind.MODIFIED if key in live else ChangeKind.ADDED
            live.add(key)
        c = Change(t, key, kind, obj)
        t0 = time.perf_counter()
        w.append_change(c)
        in_writer += time.perf_counter() - t0
        n += 1
    t0 = time.perf_counter()
    w.close()
    in_writer += time.perf_counter() - t0
    return {
        "changes": n,
        "raw_json_bytes": raw_json,
        "write_s": in_writer,
        "keyframes": w.stats.keyframes,
        "blocks": w.stats.blocks,
    }


def _reused(path: Path) -> dict:
    """Figures of a kept recording that need no writing."""
    with RecordingReader(path) as r:
        return {
            "changes": r.change_count,
            "keyframes": len(r.keyframes()),
            "blocks": len(r.blocks),
        }


def crashed_copy(path: Path, out: Path) -> int:
    """The file as kill -9 would have left it just before close: without the final keyframe,
    the index and the trailer. Returns the changes after the last periodic keyframe."""
    with RecordingReader(path) as r:
        cut = r.keyframes()[-1].blocks[0].offset
    with open(path, "rb") as src, open(out, "wb") as dst:
        dst.write(src.read(cut))
    with RecordingReader(out) as r:
        kfs = r.keyframes()
        after = kfs[-1].blocks[-1].offset if kfs else -1
        return sum(b.changes for b in r.blocks if b.type == fmt.DATA and b.offset > after)


def screenful(tmap: TemporalMap, t: int) -> dict:
    """What the pods table needs to draw at t: the pods there, and the rows of a screenful
    (rows are computed for the lines drawn)."""
    cursor = Cursor(tmap, "pods")
    cursor.seek(t)
    return cursor.rows.pick(sorted(cursor.versions)[:40])


def open_last_moment(path: Path) -> tuple[float, float, RecordingSource]:
    """Seconds to open and draw the pods table at the newest moment (the app's first screen),
    and seconds until every object of the newest moment is in the map."""
    gc.collect()
    t0 = time.perf_counter()
    src = RecordingSource(path, row_fn=pod_row, first_types=["pods"])
    end = src.end_t
    assert end is not None
    rows = screenful(src.tmap, end)
    took = time.perf_counter() - t0
    assert rows
    while src.complete_from is None and src.load_step(0.05):
        pass
    return took, time.perf_counter() - t0, src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 objects, 100,000 changes")
    ap.add_argument("--objects", type=int)
    ap.add_argument("--changes", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="write the recordings here and keep them")
    ap.add_argument(
        "--reuse", action="store_true", help="with --keep: reuse DIR/bench.khr, skip writing"
    )
    args = ap.parse_args()
    objects = args.objects or (1_000 if args.quick else 10_000)
    changes = args.changes or (100_000 if args.quick else 1_000_000)
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="khr-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "bench.khr"
    crashed = tmp / "bench-crashed.khr"
    reuse = args.reuse and args.keep and path.exists()
    for p in (crashed,) if reuse else (path, crashed):
        p.unlink(missing_ok=True)
    figures: dict[str, float | int | str] = {"objects": objects, "changes": changes}

    if reuse:
        print(f"reusing {path} (written by an earlier run; write figures not measured)")
        w = _reused(path)
    else:
        print(f"recording {changes:,} changes over ~{objects:,} objects ...", flush=True)
        w = write(path, objects, changes, args.seed)
    size = path.stat().st_size
    figures.update(
        file_bytes=size,
        bytes_per_change=round(size / w["changes"], 1),
        keyframes=w["keyframes"],
        blocks=w["blocks"],
    )
    if not reuse:
        figures.update(
            raw_json_bytes_per_change=round(w["raw_json_bytes"] / w["changes"], 1),
            disk_vs_raw_json_pct=round(100 * size / w["raw_json_bytes"], 2),
            write_changes_per_s=round(w["changes"] / w["write_s"]),
            write_us_per_change=round(1e6 * w["write_s"] / w["changes"], 1),
        )
        print(
            f"  on disk: {size / 2**20:.1f} MiB, {figures['bytes_per_change']} B/change = "
            f"{figures['disk_vs_raw_json_pct']}% of the raw JSON "
            f"({figures['raw_json_bytes_per_change']} B/change) [target <= 5%]"
        )
        print(
            f"  write: {figures['write_changes_per_s']:,} changes/s "
            f"({figures['write_us_per_change']} us/change, compression included)"
        )

    tail = crashed_copy(path, crashed)
    took, whole, src = open_last_moment(path)
    figures["open_last_moment_s"] = round(took, 3)
    figures["open_whole_last_moment_s"] = round(whole, 3)
    print(
        f"  open + pods table at the last moment (clean close): {took:.2f} s [target <= 3 s]; "
        f"every object of that moment loaded after {whole:.2f} s"
    )
    took_c, whole_c, src_c = open_last_moment(crashed)
    figures["open_last_moment_crashed_s"] = round(took_c, 3)
    figures["open_whole_last_moment_crashed_s"] = round(whole_c, 3)
    figures["crashed_tail_changes"] = tail
    print(
        f"  open + pods table at the last moment (after a crash, {tail:,} changes after the "
        f"last keyframe): {took_c:.2f} s [target <= 3 s]; every object after {whole_c:.2f} s"
    )
    src_c.close()

    t0 = time.perf_counter()
    src.load_all()
    full = time.perf_counter() - t0
    figures["history_load_s"] = round(full, 1)
    figures["history_changes_per_s"] = round(src.tmap.change_count / full)
    figures["rss_mb"] = round(rss_mb())
    print(
        f"  whole history loaded in the background slices: {full:.1f} s more "
        f"({figures['history_changes_per_s']:,} changes/s), RSS {figures['rss_mb']} MiB"
    )

    tmap = src.tmap
    first, last = tmap.first_t, tmap.last_t
    assert first is not None and last is not None
    rnd = random.Random(7)
    moments = [rnd.randrange(first, last) for _ in range(40)]
    cursor = Cursor(tmap, "pods")
    cursor.seek(last)
    seeks = []
    for t in moments:
        t0 = time.perf_counter()
        cursor.seek(t)
        seeks.append(time.perf_counter() - t0)
    tables = []
    for t in moments[:15]:
        t0 = time.perf_counter()
        screenful(tmap, t)
        tables.append(time.perf_counter() - t0)
    figures["seek_random_ms_p50"] = round(1000 * statistics.median(seeks), 1)
    figures["seek_random_ms_max"] = round(1000 * max(seeks), 1)
    figures["table_random_ms_p50"] = round(1000 * statistics.median(tables), 1)
    print(
        f"  seek to a random moment (pods cursor): p50 {figures['seek_random_ms_p50']} ms, "
        f"max {figures['seek_random_ms_max']} ms; pods table from scratch (cursor + a "
        f"screenful of rows) p50 {figures['table_random_ms_p50']} ms"
    )
    src.close()
    if not args.keep:
        for p in (path, crashed):
            p.unlink(missing_ok=True)
        os.rmdir(tmp)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
