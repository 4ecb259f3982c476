"""Memory of a long live session and of `khronoscope record`: RSS after each million changes.

    python bench/longhistory_live.py [--changes 3000000] [--mode both|live|record] [--quick]

Feeds bench/stream.py's mix (~10,000 pods, nodes and ConfigMaps, Events expiring after an hour as
the API server's do: ~140,000 live objects from ~720,000 changes on; a change every ~5 ms) through
`ClusterSession.record`, the path every watcher's change takes (stamp, Secret redaction,
TemporalMap, sinks), on the stream's clock, with a Recorder writing the recording as the app and
`record` do. `record` mode is `khronoscope record`: no table rows, the map trimmed every 30 s to
the last 60 s (commands/record.py's own loop step). `live` mode is the live app's session: rows
printed for a screenful of pods every second (what a table on screen reads, through the app's
HotColdHistory), and the session trimmed to its hot window as the app's LiveRecording does (only
what is sealed in the recording is dropped; older history is read back from it).
Each mode runs in its own process (one's freed memory must not blur the other's RSS).

Ends with one JSON line: per mode the RSS after each million changes, and
`<mode>_rss_mb_per_m_after_first`: the growth per million after the first (target <= 50).
`run_modes()` returns the same dict for bench/longhistory.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stream import EVENT_TTL, SECOND, stream

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.commands.live import HOT_WINDOW_NS, LiveRecording
from khronoscope.commands.record import TRIM_EVERY_NS, trim_memory
from khronoscope.core.source import SourceInfo
from khronoscope.core.types import ChangeKind
from khronoscope.recording.recorder import Recorder
from khronoscope.recording.segments.writer import SegmentedWriter

MILLION = 1_000_000
SCREEN = 40


def heap_mb() -> tuple[float, float]:
    """glibc's heap: MiB in use by allocations, and MiB freed but still held (0, 0 elsewhere):
    RSS growing with the second means fragmentation, with the first memory really kept."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (n, ctypes.c_size_t)
            for n in [
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            ]
        ]

    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return 0.0, 0.0
    fn.restype = MallInfo2
    m = fn()
    return (m.uordblks + m.hblkhd) / 2**20, m.fordblks / 2**20


def pymalloc_mb() -> tuple[float, float]:
    """Python's small-object allocator: MiB of arenas held, and MiB of objects in them (a gap
    growing between them means arenas kept alive by a few long-lived objects each)."""
    import re

    with tempfile.TemporaryFile(mode="w+") as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read()
    arenas = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    if arenas is None or used is None:
        return 0.0, 0.0
    held = int(arenas.group(1)) * int(arenas.group(2))
    return held / 2**20, int(used.group(1).replace(",", "")) / 2**20


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class StreamClock:
    """The session's clock: the time of the change being fed."""

    def __init__(self) -> None:
        self.t = 0

    def __call__(self) -> int:
        return self.t


def run(
    mode: str,
    changes: int,
    objects: int,
    seed: int,
    directory: Path,
    step: int,
    event_ttl: int | None = EVENT_TTL,
) -> dict:
    """Feed `changes` changes through a session in `mode`; RSS every `step` changes."""
    from khronoscope.printers import row_for

    clock = StreamClock()
    session = ClusterSession(
        ClusterOptions(), row_fn=row_for if mode == "live" else None, clock=clock
    )
    # the segmented writer `record` and the app use, with their default options
    writer = SegmentedWriter.create_local(
        directory / f"{mode}.khr", SourceInfo(cluster="bench", context="bench")
    )
    recorder = Recorder(session, writer, None)
    recorder.attach()
    live = LiveRecording(writer, recorder, HOT_WINDOW_NS)
    shown = live.source_for(session).tmap  # what the app's views read
    gc.collect()
    base = rss_mb()
    marks: list[float] = []
    next_trim = 0
    next_screen = 0
    started = time.perf_counter()
    seen: set[Any] = set()
    for n, (t, key, obj) in enumerate(stream(objects, changes, seed, event_ttl), 1):
        clock.t = t
        if obj is None:
            kind = ChangeKind.DELETED
            seen.discard(key)
        else:
            kind = ChangeKind.MODIFIED if key in seen else ChangeKind.ADDED
            seen.add(key)
        session.record(key, kind, obj)
        if t >= next_trim:
            next_trim = t + TRIM_EVERY_NS
            if mode == "record":
                trim_memory(session)
            else:
                live.trim(t)
        if mode == "live" and t >= next_screen:
            # a table on screen reads the rows of the pods it shows, once a second
            next_screen = t + SECOND
            keys = shown.keys_at(t, "pods")[:SCREEN]
            shown.rows_of(keys, t)
        if n % step == 0:
            recorder.tick()
            gc.collect()
            rss = rss_mb()
            marks.append(rss)
            s = session.tmap.memory_stats()
            used, free = heap_mb()
            arenas, objs = pymalloc_mb()
            print(
                f"{mode:6} {n:>10,} changes: RSS {rss:7.1f} MiB (+{rss - base:.1f}), "
                f"heap {used:.0f} MiB used + {free:.0f} free, "
                f"pymalloc {arenas:.0f} MiB arenas ({objs:.0f} in objects), "
                f"{s.objects:,} objects / {s.versions:,} versions in memory "
                f"({(s.stored_bytes + s.hot_bytes) / 2**20:.0f} MiB stored), "
                f"{writer.stats.bytes / 2**20:.0f} MiB written, "
                f"{n / (time.perf_counter() - started):,.0f} changes/s",
                flush=True,
            )
    writer.close(stop_t=clock.t)
    growth = (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else 0.0
    per_m = growth * MILLION / step
    return {
        f"{mode}_rss_mb": [round(m, 1) for m in marks],
        f"{mode}_rss_mb_per_m_after_first": round(per_m, 1),
    }


def run_modes(
    changes: int = 3 * MILLION,
    modes: tuple[str, ...] = ("live", "record"),
    objects: int = 10_000,
    seed: int = 1,
    step: int = MILLION,
    event_ttl: int | None = EVENT_TTL,
) -> dict[str, Any]:
    """Each mode in its own process; the merged figures (printing each process's lines)."""
    out: dict[str, Any] = {"changes": changes}
    for mode in modes:
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--one",
                mode,
                "--changes",
                str(changes),
                "--objects",
                str(objects),
                "--seed",
                str(seed),
                "--step",
                str(step),
                "--event-ttl",
                str((event_ttl or 0) // SECOND),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        last = ""
        for line in proc.stdout:  # progress as it comes; the last line is the JSON one
            if not line.startswith("{"):
                print(line, end="", flush=True)
            last = line
        if proc.wait() != 0 or not last.startswith("{"):
            raise SystemExit(f"the {mode} run failed")
        out.update(json.loads(last))
    return out


def main() -> None:
    """Parse options; run the modes (or one, in this process, with --one)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=3 * MILLION)
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=["both", "live", "record"], default="both")
    ap.add_argument("--quick", action="store_true", help="600,000 changes, RSS every 200,000")
    ap.add_argument(
        "--event-ttl",
        type=int,
        default=EVENT_TTL // SECOND,
        metavar="SECONDS",
        help="Events expire after this long, as the API server's --event-ttl (default 3600); "
        "0: never (the live set then grows by an Event every fifth change)",
    )
    ap.add_argument("--step", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one", choices=["live", "record"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    changes = 600_000 if args.quick and args.changes == 3 * MILLION else args.changes
    step = args.step or (200_000 if args.quick else MILLION)
    ttl = args.event_ttl * SECOND or None
    if args.one:
        with tempfile.TemporaryDirectory(prefix="khronoscope-live-bench-") as tmp:
            figures = run(args.one, changes, args.objects, args.seed, Path(tmp), step, ttl)
        print(json.dumps(figures))
        return
    modes = ("live", "record") if args.mode == "both" else (args.mode,)
    print(json.dumps(run_modes(changes, modes, args.objects, args.seed, step, ttl)))


if __name__ == "__main__":
    main()
