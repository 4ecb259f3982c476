"""Sealing benchmark: CPU and peak memory to seal one spool of a busy cluster, and the bytes made.

    python bench/seal.py                # 4 segments of bench/stream.py's mix (after the sync)
    python bench/seal.py --segments 8

Spool files of `SegmentOptions.seal_raw` raw bytes (the writer's default) are written from
bench/stream.py's realistic mix over ~10,000 live objects, as the writer writes them; then each
is sealed from its file as the background sealer does (the first one, the initial sync, also
trains the dictionaries and is reported apart). Prints per segment: changes, CPU seconds,
segment bytes, B/change, and the changes per second the sealer keeps up with. Then the peak
memory of sealing one full spool, measured in a fresh process (sealing it as a recording's
first segment: a base that trains the dictionaries): the peak of Python's traced allocations
(tracemalloc) and the growth of the process's peak RSS during the seal (what glibc may keep
after it).

Ends with one JSON line: `seal_cpu_s` is the median over the segments after the first,
`seal_changes_per_s` the changes sealed per CPU second (a busy cluster makes a few hundred to a
few thousand a second), `seal_peak_traced_mib` / `seal_peak_rss_mib` the memory figures for a
spool of `spool_raw_mib` MiB of records.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OBJECTS = 10_000
EVENT_TTL = 3600 * 1_000_000_000
SEED = 1
MiB = 1 << 20


def write_spools(n_segments: int, seal_raw: int, wal_dir: Path) -> list[tuple[Path, int, int]]:
    """`n_segments` + 1 spool files (the first holds the initial sync), written as the writer
    writes them: (path, changes, raw bytes) each."""
    from stream import stream

    from khronoscope.recording import format as fmt
    from khronoscope.recording import records as rec
    from khronoscope.recording.segments import layout
    from khronoscope.recording.segments.wal import WalFile

    out: list[tuple[Path, int, int]] = []

    def new(seq: int) -> WalFile:
        return WalFile(
            wal_dir / layout.wal_file(seq), {"format": 1, "spool": seq}, fsync_interval=60
        )

    wal = new(0)
    for t, key, obj in stream(OBJECTS, 10**9, SEED, event_ttl=EVENT_TTL):
        if obj is None:
            r: list[Any] = [fmt.DELETE, t, key.type, key.namespace, key.name]
        else:
            r = [fmt.PUT_FULL, t, key.type, key.namespace, key.name, rec.pack(obj)]
        wal.add(r, t, change=True)
        if wal.raw_bytes >= seal_raw:
            wal.close()
            out.append((wal.path, wal.changes, wal.raw_bytes))
            if len(out) == n_segments + 1:
                break
            wal = new(len(out))
    return out


def seal_file(path: Path, state: Any, base: bool, dicts: dict[str, bytes]) -> Any:
    """Seal one spool file as the writer's sealer does (reading it as it goes)."""
    from khronoscope.recording.segments.sealer import seal_spool
    from khronoscope.recording.segments.spoolread import SpoolFile

    with SpoolFile(path) as spool:
        return seal_spool(
            spool,
            state,
            base=base,
            fetch=lambda seq, type_, rids: [],  # no base after the first: nothing carried
            put_dict=dicts.__setitem__,
        )


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_child(path: Path) -> None:
    """In a fresh process: seal `path` as a first segment, print its peak memory as JSON."""
    from khronoscope.recording.segments.sealer import SealState

    # peak RSS: reset the high-water mark (Linux), seal, read it
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        rss0 = _status_kib("VmRSS")
    except OSError:
        rss0 = -1
    seal_file(path, SealState(), True, {})
    rss_peak = _status_kib("VmHWM") - rss0 if rss0 >= 0 else -1
    # traced Python allocations, in a second seal (tracemalloc slows it down)
    tracemalloc.start()
    base0 = tracemalloc.get_traced_memory()[0]
    seal_file(path, SealState(), True, {})
    traced_peak = tracemalloc.get_traced_memory()[1] - base0
    tracemalloc.stop()
    print(json.dumps({"rss_peak_kib": rss_peak, "traced_peak_b": traced_peak}))


def main() -> None:
    from khronoscope.recording.segments.sealer import SealState
    from khronoscope.recording.segments.writer import SegmentOptions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=4, help="segments timed after the first")
    ap.add_argument("--peak-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak_child is not None:
        peak_child(args.peak_child)
        return
    opts = SegmentOptions()
    with tempfile.TemporaryDirectory(prefix="seal-bench-") as tmp:
        print(f"writing {args.segments + 1} spools of {opts.seal_raw >> 20} MiB ...", flush=True)
        spools = write_spools(args.segments, opts.seal_raw, Path(tmp))
        state = SealState()
        dicts: dict[str, bytes] = {}
        rows = []
        for i, (path, changes, _raw) in enumerate(spools):
            c0, w0 = time.process_time(), time.perf_counter()
            sealed = seal_file(path, state, i == 0, dicts)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            rows.append((changes, cpu, len(sealed.data)))
            label = "first (sync, trains)" if i == 0 else f"segment {i}"
            print(
                f"  {label}: {changes:,} changes, CPU {cpu:.2f} s (wall {wall:.2f} s), "
                f"{len(sealed.data):,} B = {len(sealed.data) / changes:.1f} B/change, "
                f"{changes / cpu:,.0f} changes per CPU second",
                flush=True,
            )
        # the peak of sealing one full spool (not the sync's: its versions are all distinct)
        path, _changes, raw = spools[min(1, len(spools) - 1)]
        print(f"peak memory of sealing one {raw / MiB:.0f} MiB spool (fresh process) ...")
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--peak-child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        peak = json.loads(done.stdout.strip().splitlines()[-1])
    traced = peak["traced_peak_b"] / MiB
    rss = peak["rss_peak_kib"] / 1024
    print(f"  traced Python allocations peak {traced:.1f} MiB, peak RSS growth {rss:.1f} MiB")
    later = rows[1:]
    cpu_med = statistics.median(r[1] for r in later)
    figures = {
        "seal_cpu_s": round(cpu_med, 2),
        "seal_cpu_s_first": round(rows[0][1], 2),
        "seal_changes_per_s": round(sum(r[0] for r in later) / sum(r[1] for r in later)),
        "segment_bytes_per_change": round(sum(r[2] for r in later) / sum(r[0] for r in later), 2),
        "changes_per_segment": round(statistics.median(r[0] for r in later)),
        "spool_raw_mib": round(raw / MiB, 1),
        "seal_peak_traced_mib": round(traced, 1),
        "seal_peak_rss_mib": round(rss, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
