"""Sealing benchmark: CPU to seal one segment of a busy cluster, and the bytes it makes.

    python bench/seal.py                # 4 segments of bench/stream.py's mix (after the sync)
    python bench/seal.py --segments 8

Spools of `SegmentOptions.seal_raw` raw bytes (the writer's default) are cut from
bench/stream.py's realistic mix over ~10,000 live objects, then each is sealed as the
background sealer does (the first one, the initial sync, also trains the dictionaries and is
reported apart). Prints per segment: changes, CPU seconds, segment bytes, B/change, and the
changes per second the sealer keeps up with; ends with one JSON line (`seal_cpu_s` is the
median over the segments after the first, `seal_changes_per_s` the changes it seals per CPU
second: a busy cluster makes a few hundred to a few thousand a second).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OBJECTS = 10_000
EVENT_TTL = 3600 * 1_000_000_000
SEED = 1


def spools(n_segments: int, seal_raw: int) -> list[list[list[Any]]]:
    """The records of `n_segments` + 1 spools (the first holds the initial sync)."""
    from stream import stream

    from khronoscope.recording import format as fmt
    from khronoscope.recording import records as rec

    out: list[list[list[Any]]] = [[]]
    size = 0
    for t, key, obj in stream(OBJECTS, 10**9, SEED, event_ttl=EVENT_TTL):
        if obj is None:
            r = [fmt.DELETE, t, key.type, key.namespace, key.name]
        else:
            raw = rec.pack(obj)
            size += len(raw)
            r = [fmt.PUT_FULL, t, key.type, key.namespace, key.name, raw]
        out[-1].append(r)
        if size >= seal_raw:
            if len(out) == n_segments + 1:
                break
            out.append([])
            size = 0
    return out


def main() -> None:
    from khronoscope.recording.segments.sealer import SealState, seal
    from khronoscope.recording.segments.writer import SegmentOptions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=4, help="segments timed after the first")
    args = ap.parse_args()
    opts = SegmentOptions()
    print(f"generating {args.segments + 1} spools of {opts.seal_raw >> 20} MiB ...", flush=True)
    all_records = spools(args.segments, opts.seal_raw)
    state = SealState()
    dicts: dict[str, bytes] = {}
    rows = []
    for i, records in enumerate(all_records):
        changes = sum(1 for r in records if len(r) >= 5)
        c0, w0 = time.process_time(), time.perf_counter()
        sealed = seal(
            records,
            state,
            base=i == 0,
            fetch=lambda seq, type_, rids: [],  # no base after the first: nothing carried
            put_dict=dicts.__setitem__,
        )
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        rows.append((changes, cpu, len(sealed.data)))
        label = "first (sync, trains)" if i == 0 else f"segment {i}"
        print(
            f"  {label}: {changes:,} changes, CPU {cpu:.2f} s (wall {wall:.2f} s), "
            f"{len(sealed.data):,} B = {len(sealed.data) / changes:.1f} B/change, "
            f"{changes / cpu:,.0f} changes per CPU second",
            flush=True,
        )
    later = rows[1:]
    cpu_med = statistics.median(r[1] for r in later)
    figures = {
        "seal_cpu_s": round(cpu_med, 2),
        "seal_cpu_s_first": round(rows[0][1], 2),
        "seal_changes_per_s": round(sum(r[0] for r in later) / sum(r[1] for r in later)),
        "segment_bytes_per_change": round(sum(r[2] for r in later) / sum(r[0] for r in later), 2),
        "changes_per_segment": round(statistics.median(r[0] for r in later)),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
