"""Long-history benchmark: does cost follow what the user looks at, or the recording's length?

    python bench/longhistory.py                 # 1,000,000 and 10,000,000 changes (long: ~1 h)
    python bench/longhistory.py --quick         # 100,000 and 1,000,000 changes
    python bench/longhistory.py --keep DIR      # keep the recordings in DIR (and reuse them)
    python bench/longhistory.py --format 1      # the v0.1 single-file recording (for "before")
    python bench/longhistory.py --live          # also: a live session ingesting 3M changes

Each recording is bench/stream.py's realistic mix over ~10,000 live objects (so the two sizes
differ in length, not in cluster size), Events expiring after 1 h as the API server does. Each
is written the way `khronoscope record` writes, then opened in a fresh process through the same
code path as `khronoscope open`, which measures:

- the newest moment: from nothing to the pods table's first screen of rows at the end
  (median of 5 fresh processes; the modules already imported);
- a random moment: the pods table's first screen at a random time (median of 20);
- `H` on a random object: its history and the lines the history screen shows first (median);
- "what changed" between the recording's start and end;
- peak RSS of that process;
- bytes on disk per change, and as a percentage of the changes' raw JSON.

Then the ratios big/small. Targets (issue 14, 2 cores): open_ratio and rss_ratio <= 1.3,
newest moment of the big one <= 1.5 s, a random moment <= 1 s, H <= 0.5 s, RSS <= 400 MB at
10M changes, disk <= 50 B/change (<= 1.5% of raw JSON). The machine is shared: timings are
noisy. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OBJECTS = 10_000
EVENT_TTL = 3600 * 1_000_000_000
SEED = 1
SCREEN_ROWS = 60
OPENS = 5
HERE = Path(__file__).resolve().parent


def _disk_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


# --- writing (in a child process: its memory is not the opener's) ------------------------------


def write(path: Path, changes: int, fmt_version: int) -> dict[str, Any]:
    """Record `changes` stream changes at `path` as `khronoscope record` would."""
    import orjson
    from stream import stream

    from khronoscope.core.source import SourceInfo
    from khronoscope.core.types import Change, ChangeKind

    info = SourceInfo("bench", "bench", "v1.31.0")
    writer = _open_writer(path, info, fmt_version)
    raw_json = 0
    n = 0
    live: set = set()
    started = time.perf_counter()
    last_report = started
    for t, key, obj in stream(OBJECTS, changes, SEED, event_ttl=EVENT_TTL):
        if obj is None:
            kind = ChangeKind.DELETED
            live.discard(key)
        else:
            raw_json += len(orjson.dumps(obj))
            kind = ChangeKind.MODIFIED if key in live else ChangeKind.ADDED
            live.add(key)
        writer.append_change(Change(t, key, kind, obj))
        n += 1
        if n % 100_000 == 0 and time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            print(f"    {n:,} changes written", file=sys.stderr, flush=True)
    if fmt_version == 1:
        writer.close()
    else:
        writer.close(stop_t=t)  # the stream's clock, not the machine's
    return {
        "changes": n,
        "raw_json_bytes": raw_json,
        "write_s": round(time.perf_counter() - started, 1),
        "format": fmt_version,
    }


def _open_writer(path: Path, info: Any, fmt_version: int) -> Any:
    if fmt_version == 1:
        from khronoscope.recording.writer import RecordingWriter

        return RecordingWriter.create(path, info)
    from khronoscope.recording.segments.writer import SegmentedWriter

    return SegmentedWriter.create_local(path, info)


# --- measuring (in a fresh child process per recording) ----------------------------------------


def measure(path: Path, fmt_version: int, cache_mb: int | None) -> dict[str, Any]:
    """Open `path` as `khronoscope open` does and time what a user does first."""
    from khronoscope.core.types import ObjectKey
    from khronoscope.temporal import Cursor
    from khronoscope.tui.versions import ObjectHistory
    from khronoscope.tui.whatchanged import what_changed

    rnd = random.Random(7)
    out: dict[str, Any] = {}
    opener = _opener(fmt_version)  # imports are start-up, the same for any recording
    t0 = time.perf_counter()
    source = opener(path, cache_mb)
    tmap = source.tmap
    end = tmap.last_t  # the newest change (a recording's stop time may be later)
    cursor = Cursor(tmap, "pods")
    cursor.seek(end)
    first_screen(cursor)
    out["open_end_s"] = round(time.perf_counter() - t0, 3)
    assert cursor.versions, "no pods at the end"
    start = tmap.first_t if fmt_version == 2 else source.start_t
    # the random moments, and the objects for H: from the end's table and from the past
    moments = [rnd.randrange(start, end) for _ in range(20)]
    seeks = []
    if fmt_version == 1:
        # v0.1 loads the past newest first: a moment shows once history reaches back to it
        pending = sorted(moments, reverse=True)
        loaded_at: dict[int, float] = {}
        while pending:
            while (
                pending
                and source.complete_from is not None
                and source.complete_from <= (pending[0])
            ):
                loaded_at[pending.pop(0)] = time.perf_counter() - t0
            if pending and not source.load_step(0.05):
                for m in pending:
                    loaded_at[m] = time.perf_counter() - t0
                pending = []
        for m in moments:
            s0 = time.perf_counter()
            cursor.seek(m)
            first_screen(cursor)
            seeks.append(loaded_at[m] + time.perf_counter() - s0)
        out["history_loaded_s"] = round(time.perf_counter() - t0, 1)
    else:
        for m in moments:
            s0 = time.perf_counter()
            cursor.seek(m)
            first_screen(cursor)
            seeks.append(time.perf_counter() - s0)
    out["seek_s"] = round(statistics.median(seeks), 3)
    out["seek_s_max"] = round(max(seeks), 3)
    keys: list[ObjectKey] = []
    for m in moments[:10]:
        at_m = tmap.keys_at(m, "pods")
        if at_m:
            keys.append(rnd.choice(sorted(at_m)))
    keys += [k for k in ("nodes", "configmaps") for k in sorted(tmap.keys_at(end, k))[:1]]
    hs = []
    for key in keys:
        s0 = time.perf_counter()
        h = ObjectHistory(tmap, key)
        i = max(h.index_at(end), 0)
        for j in range(max(0, i - 15), min(len(h), i + 15)):
            h.entry(j)
        hs.append(time.perf_counter() - s0)
    out["history_s"] = round(statistics.median(hs), 3)
    out["history_s_max"] = round(max(hs), 3)
    s0 = time.perf_counter()
    wc = what_changed(tmap, start, end)
    out["what_changed_s"] = round(time.perf_counter() - s0, 2)
    out["what_changed_objects"] = wc.total
    out["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def first_screen(cursor: Any) -> None:
    """What the pods table draws first: the rows of the first screenful (sorted by name)."""
    keys = sorted(cursor.versions, key=lambda k: (k.namespace, k.name))[:SCREEN_ROWS]
    rows = cursor.rows.pick(keys)
    assert len(rows) == len(keys)


def _opener(fmt_version: int) -> Any:
    """The function `khronoscope open` opens a recording with (its modules imported)."""
    from khronoscope.printers import row_for

    if fmt_version == 1:
        from khronoscope.recording.source import RecordingSource

        return lambda path, cache_mb: RecordingSource(path, row_fn=row_for, first_types=["pods"])
    from khronoscope.commands.open import open_for_app

    return lambda path, cache_mb: open_for_app(path, cache_mb=cache_mb)


def measure_open(path: Path, fmt_version: int, cache_mb: int | None) -> dict[str, Any]:
    """Only the newest moment (a fresh process each time: the first screen after a start)."""
    from khronoscope.temporal import Cursor

    opener = _opener(fmt_version)
    t0 = time.perf_counter()
    source = opener(path, cache_mb)
    cursor = Cursor(source.tmap, "pods")
    cursor.seek(source.tmap.last_t)
    first_screen(cursor)
    return {"open_end_s": round(time.perf_counter() - t0, 3)}


# --- driver ------------------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    from _proc import child_json

    return child_json(__file__, *args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 and 1,000,000 changes")
    ap.add_argument("--sizes", help="comma-separated change counts (small,big)")
    ap.add_argument("--format", type=int, choices=(1, 2), default=2, help="recording format")
    ap.add_argument("--keep", metavar="DIR", help="keep (and reuse) the recordings in DIR")
    ap.add_argument("--cache-mb", type=int, default=None, help="the lazy source's cache budget")
    ap.add_argument("--live", action="store_true", help="also the live-session run (3M changes)")
    ap.add_argument("--_write", nargs=2, metavar=("PATH", "CHANGES"), help=argparse.SUPPRESS)
    ap.add_argument("--_measure", metavar="PATH", help=argparse.SUPPRESS)
    ap.add_argument("--_open", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._write:
        print(json.dumps(write(Path(args._write[0]), int(args._write[1]), args.format)))
        return
    if args._measure:
        print(json.dumps(measure(Path(args._measure), args.format, args.cache_mb)))
        return
    if args._open:
        print(json.dumps(measure_open(Path(args._open), args.format, args.cache_mb)))
        return

    if args.sizes:
        small, big = (int(x) for x in args.sizes.split(","))
    else:
        small, big = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="khr-longhistory-"))
    tmp.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"format": args.format, "objects": OBJECTS}
    per: dict[str, dict[str, Any]] = {}
    for label, n in (("small", small), ("big", big)):
        path = tmp / f"longhistory-{n}-v{args.format}.khr"
        meta_path = path.with_name(path.name + ".json")
        if path.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            print(f"{label}: reusing {path} ({meta['changes']:,} changes)", flush=True)
        else:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            print(f"{label}: recording {n:,} changes to {path} ...", flush=True)
            meta = _child("--format", str(args.format), "--_write", str(path), str(n))
            meta_path.write_text(json.dumps(meta))
            print(f"  written in {meta['write_s']} s", flush=True)
        disk = _disk_bytes(path)
        cache = ["--cache-mb", str(args.cache_mb)] if args.cache_mb else []
        m = _child("--format", str(args.format), *cache, "--_measure", str(path))
        # the newest moment is timed in fresh processes, median of OPENS (a shared machine)
        opens = [m["open_end_s"]] + [
            _child("--format", str(args.format), *cache, "--_open", str(path))["open_end_s"]
            for _ in range(OPENS - 1)
        ]
        m["open_end_s"] = statistics.median(opens)
        m["disk_bytes_per_change"] = round(disk / meta["changes"], 1)
        m["disk_pct_raw_json"] = round(100 * disk / meta["raw_json_bytes"], 2)
        m["changes"] = meta["changes"]
        per[label] = m
        print(
            f"  {label} ({meta['changes']:,} changes): newest moment {m['open_end_s']} s, "
            f"random moment {m['seek_s']} s (max {m['seek_s_max']}), H {m['history_s']} s "
            f"(max {m['history_s_max']}), what changed start..end {m['what_changed_s']} s "
            f"({m['what_changed_objects']:,} objects), peak RSS {m['rss_mb']} MB, "
            f"{m['disk_bytes_per_change']} B/change on disk = {m['disk_pct_raw_json']}% of raw "
            "JSON",
            flush=True,
        )
        if "history_loaded_s" in m:
            print(f"    (whole history loaded after {m['history_loaded_s']} s)", flush=True)
    s, b = per["small"], per["big"]
    figures.update(
        changes_small=s["changes"],
        changes_big=b["changes"],
        open_end_s_small=s["open_end_s"],
        open_end_s_big=b["open_end_s"],
        seek_s_small=s["seek_s"],
        seek_s_big=b["seek_s"],
        history_s_small=s["history_s"],
        history_s_big=b["history_s"],
        what_changed_s_small=s["what_changed_s"],
        what_changed_s_big=b["what_changed_s"],
        rss_mb_small=s["rss_mb"],
        rss_mb_big=b["rss_mb"],
        disk_bytes_per_change_small=s["disk_bytes_per_change"],
        disk_bytes_per_change_big=b["disk_bytes_per_change"],
        disk_pct_raw_json_small=s["disk_pct_raw_json"],
        disk_pct_raw_json_big=b["disk_pct_raw_json"],
        open_ratio=round(b["open_end_s"] / s["open_end_s"], 2),
        rss_ratio=round(b["rss_mb"] / s["rss_mb"], 2),
    )
    print(
        f"ratios big/small: open {figures['open_ratio']} [target <= 1.3], "
        f"RSS {figures['rss_ratio']} [target <= 1.3]"
    )
    if args.live:
        figures.update(_live())
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))


def _live() -> dict[str, Any]:
    """The live-session run (ClusterSession ingesting 3M changes with recording on), from
    bench/longhistory_live.py."""
    try:
        from longhistory_live import run_modes
    except ImportError:
        print("live: bench/longhistory_live.py is not there yet: skipped")
        return {}
    return run_modes()


if __name__ == "__main__":
    main()
