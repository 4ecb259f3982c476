"""What the terminal sanitiser costs per string drawn (khronoscope.core.safetext).

    python bench/safetext.py [--rows 40]

Every table cell, list line and log line goes through `safe_line` when it is drawn, so its cost
is per visible cell per frame. Prints ns per call for plain ASCII cells (the common case: the
`isprintable` fast path), printable non-ASCII text, text with controls (the regex path), a
multi-line describe body through `safe_block`, and one visible table (rows x 9 cells), then one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from khronoscope.core.safetext import safe_block, safe_line

PLAIN = [
    "team-07",
    "svc-123-04567-89012",
    "1/1",
    "Running",
    "3 (5m ago)",
    "2m25s",
    "node-17",
    "10.0.12.7",
    "registry.example.com/svc-123:1.4.0",
]
UNICODE = ["café-worker", "日本語-pod", "status ✓", "🚀-launcher", "naïve-déploiement"]
HOSTILE = ["x\x1b]52;c;cHduZWQ=\x1b\\", "a\x1b[2J\x1b[H", "\u202eexe.txt", "ok\rEVIL", "\x9b2J"]


def per_call(strings: list[str], fn, rounds: int) -> float:
    """Median ns per call over `rounds` passes over `strings`."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for s in strings:
            fn(s)
        times.append((time.perf_counter_ns() - t0) / len(strings))
    times.sort()
    return times[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=40, help="visible table rows")
    args = parser.parse_args()
    strings = PLAIN * 1000
    plain = per_call(strings, safe_line, 21)
    uni = per_call(UNICODE * 1000, safe_line, 21)
    hostile = per_call(HOSTILE * 1000, safe_line, 21)
    describe = "\n".join(f"Annotation-{i}:  value {i} with\ttab" for i in range(200))
    block = per_call([describe] * 50, safe_block, 11)
    frame = per_call([" ".join(PLAIN)] * 1, lambda _s: [safe_line(c) for c in PLAIN], 1001)
    table_us = frame * args.rows / 1000
    print("khronoscope terminal sanitiser (safe_line / safe_block)")
    print(f"plain ASCII cell:               {plain:7.0f} ns")
    print(f"printable non-ASCII cell:       {uni:7.0f} ns")
    print(f"cell with controls (escaped):   {hostile:7.0f} ns")
    print(f"describe body, 200 lines:       {block / 1000:7.1f} µs")
    print(f"one table of {args.rows} rows x 9 cells: {table_us:7.1f} µs per frame")
    print(
        json.dumps(
            {
                "plain_ns": round(plain),
                "unicode_ns": round(uni),
                "hostile_ns": round(hostile),
                "describe_us": round(block / 1000, 1),
                "table_frame_us": round(table_us, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
