"""Playback benchmark: does playing or stepping stutter where one segment ends and the next begins?

    python bench/playback.py --keep DIR         # reuse (or write) DIR/longhistory-1000000-v2.khr
    python bench/playback.py --changes 300000   # a smaller recording (fewer segments)
    python bench/playback.py --live             # the live app's past instead of `open`

Opens a format-2 recording as `khronoscope open` does (fresh process per run), then, with the
neighbour prefetch on and off:

- play at 64x across 8 segment boundaries, one frame per 50 ms tick as the app's timer does
  (3.2 s of recording a frame): the pods cursor moves, the first screen of rows is drawn; prints
  the slowest frame, the p95 frame and the slowest frame that crossed a boundary;
- step `]` through 6 boundaries, a key press every 100 ms, from 10 changes before each one: the
  step that lands in the next segment (median and max over the boundaries);
- step `[` back through 6 boundaries the same way.

With --live the same recording is read as the live app reads its own past: through its
HotColdHistory (the session's map for the hot window, the recording for everything older), the
hot window starting after the recording's end so that every moment played or stepped is in the
recorded part, with the app's default caches.

A frame's time is what the UI loop spends on it; the rest of the tick is idle (the prefetch
worker's time). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TICK = 0.05  # the app's play timer (tui/app.py: 1/20 s)
SPEED = 64
PRESS = 0.1  # seconds between key presses when stepping
BOUNDARIES = 8
STEP_BOUNDARIES = 6
HERE = Path(__file__).resolve().parent
NS = 1_000_000_000


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def _pace(started: float, period: float) -> None:
    left = period - (time.perf_counter() - started)
    if left > 0:
        time.sleep(left)


def live_past(path: Path) -> Any:
    """`path` read as the live app reads its own recording (LiveRecording.source_for): a
    HotColdHistory whose hot window (the session's map) starts after the recording's end."""
    from khronoscope.core.types import ObjectKey
    from khronoscope.printers import row_for
    from khronoscope.recording.segments.catalog import SegmentedRecording
    from khronoscope.recording.segments.history import LazyHistory
    from khronoscope.recording.segments.hotcold import HotColdHistory
    from khronoscope.storage.local import LocalStore
    from khronoscope.temporal import TemporalMap

    cold = LazyHistory(SegmentedRecording(LocalStore(path), None), row_fn=row_for)
    assert cold.last_t is not None
    hot = TemporalMap(row_fn=row_for)
    start = cold.last_t + NS
    # a session trimmed to a window that starts at `start` (what the app's trim leaves)
    hot.put(
        ObjectKey("configmaps", "default", "x"),
        start,
        {"metadata": {"name": "x", "namespace": "default"}},
    )
    hot.trim_before(start)
    return HotColdHistory(hot, cold)


def run(path: Path, prefetch: bool, cache_mb: int | None, live: bool = False) -> dict[str, Any]:
    """Play and step through `path` (in this process) and time each frame and step."""
    from longhistory import first_screen

    from khronoscope.commands.open import open_for_app
    from khronoscope.temporal import Cursor
    from khronoscope.tui.travel import StepScope, next_step, previous_step

    if live:
        history = live_past(path)
        if not prefetch:
            history.prefetch.close()
        tmap: Any = history
        segs = [s for s in history.cold.segments if s.changes]
        close = history.close
    else:
        source = open_for_app(path, cache_mb=cache_mb)
        if not prefetch:
            source.prefetch.close()
        tmap = source.tmap
        segs = [s for s in source.segments if s.changes]
        close = source.close
    first = max(1, len(segs) // 4)
    last = min(len(segs) - 1, first + BOUNDARIES)
    bounds = [s.first_t for s in segs[first + 1 : last + 1]]
    cursor = Cursor(tmap, "pods")
    out: dict[str, Any] = {"prefetch": prefetch, "segments": len(segs)}

    # play at 64x from the start of segment `first` to the start of segment `last`
    t = segs[first].first_t
    cursor.seek(t)
    first_screen(cursor)
    frames: list[float] = []
    crossing: list[float] = []
    while t < segs[last].first_t + 10 * NS:
        tick = time.perf_counter()
        new_t = t + int(SPEED * TICK * NS)
        cursor.seek(new_t)
        first_screen(cursor)
        took = time.perf_counter() - tick
        frames.append(took)
        if any(t < b <= new_t for b in bounds):
            crossing.append(took)
        t = new_t
        _pace(tick, TICK)
    out["play_slowest_at"] = sorted(range(len(frames)), key=frames.__getitem__)[-3:]
    frames.sort()
    out["play_frames"] = len(frames)
    out["play_max_ms"] = round(1000 * frames[-1], 1)
    out["play_p95_ms"] = round(1000 * frames[int(0.95 * (len(frames) - 1))], 1)
    out["play_median_ms"] = round(1000 * statistics.median(frames), 1)
    out["play_boundary_max_ms"] = round(1000 * max(crossing), 1)

    scope = StepScope(type="pods")

    # `]` across boundaries: from 10 changes before each, one press every PRESS seconds
    step_fwd: list[float] = []
    for seg in segs[last + 1 : last + 1 + STEP_BOUNDARIES]:
        before = [r.t for r in tmap.changes(seg.first_t - 60 * NS, seg.first_t - 1, "pods")]
        t = before[-10] if len(before) >= 10 else seg.first_t - 60 * NS
        cursor.seek(t)
        first_screen(cursor)
        time.sleep(PRESS)
        while True:
            press = time.perf_counter()
            nxt = next_step(tmap, t, scope)
            if nxt is None:
                break
            cursor.seek(nxt)
            first_screen(cursor)
            took = time.perf_counter() - press
            t = nxt
            if t >= seg.first_t:
                step_fwd.append(took)
                break
            _pace(press, PRESS)
    # a short recording may have no boundary left to cross this way: no figure then
    out["step_fwd_boundary_median_ms"] = _ms(statistics.median(step_fwd)) if step_fwd else None
    out["step_fwd_boundary_max_ms"] = _ms(max(step_fwd)) if step_fwd else None

    # `[` back across boundaries: from 10 changes after each segment's start
    step_back: list[float] = []
    for seg in reversed(segs[2 : 2 + STEP_BOUNDARIES]):
        after = [r.t for r in tmap.changes(seg.first_t, seg.first_t + 60 * NS, "pods")]
        t = after[9] if len(after) >= 10 else seg.first_t + 60 * NS
        cursor.seek(t)
        first_screen(cursor)
        time.sleep(PRESS)
        while True:
            press = time.perf_counter()
            prev = previous_step(tmap, t, scope)
            if prev is None:
                break
            cursor.seek(prev)
            first_screen(cursor)
            took = time.perf_counter() - press
            t = prev
            if t < seg.first_t:
                step_back.append(took)
                break
            _pace(press, PRESS)
    # a short recording may have no boundary left to cross this way: no figure then
    out["step_back_boundary_median_ms"] = _ms(statistics.median(step_back)) if step_back else None
    out["step_back_boundary_max_ms"] = _ms(max(step_back)) if step_back else None
    close()
    return out


def _child(*args: str) -> dict[str, Any]:
    from _proc import child_json

    return child_json(__file__, *args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=1_000_000, help="changes in the recording")
    ap.add_argument("--keep", metavar="DIR", help="keep (and reuse) the recording in DIR")
    ap.add_argument("--cache-mb", type=int, default=None, help="the lazy source's cache budget")
    ap.add_argument("--runs", type=int, default=2, help="runs per mode (fresh processes)")
    ap.add_argument(
        "--live", action="store_true", help="read it as the live app reads its own past"
    )
    ap.add_argument("--_run", metavar="PATH", help=argparse.SUPPRESS)
    ap.add_argument("--_off", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._run:
        print(json.dumps(run(Path(args._run), not args._off, args.cache_mb, args.live)))
        return

    import shutil
    import tempfile

    tmp = Path(args.keep or tempfile.mkdtemp(prefix="khr-playback-"))
    tmp.mkdir(parents=True, exist_ok=True)
    n = args.changes
    path = tmp / f"longhistory-{n}-v2.khr"
    meta = path.with_name(path.name + ".json")
    if not (path.exists() and meta.exists()):
        print(f"recording {args.changes:,} changes to {path} ...", flush=True)
        from _proc import child_json

        written = child_json(HERE / "longhistory.py", "--_write", str(path), str(args.changes))
        meta.write_text(json.dumps(written))
    else:
        print(f"reusing {path}", flush=True)
    cache = ["--cache-mb", str(args.cache_mb)] if args.cache_mb else []
    if args.live:
        cache.append("--live")
    figures: dict[str, Any] = {}
    keys = (
        "play_max_ms",
        "play_p95_ms",
        "play_median_ms",
        "play_boundary_max_ms",
        "step_fwd_boundary_median_ms",
        "step_fwd_boundary_max_ms",
        "step_back_boundary_median_ms",
        "step_back_boundary_max_ms",
    )
    # the two modes alternate (a shared machine: both see the same neighbours)
    modes = (("off", ["--_off"]), ("on", []))
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _ in range(args.runs):
        for mode, flag in modes:
            runs[mode].append(_child(*cache, *flag, "--_run", str(path)))
    for mode, _ in modes:
        # the median run per figure (one run may be hit by a neighbour)
        for k in keys:
            got = [r[k] for r in runs[mode] if r[k] is not None]
            figures[f"{k}_{mode}"] = statistics.median(got) if got else None
        r = runs[mode][0]
        print(
            f"prefetch {mode} ({r['segments']} segments, {r['play_frames']} frames at 64x): "
            f"play slowest frame {figures[f'play_max_ms_{mode}']} ms, p95 "
            f"{figures[f'play_p95_ms_{mode}']} ms, median {figures[f'play_median_ms_{mode}']} ms, "
            f"slowest boundary frame {figures[f'play_boundary_max_ms_{mode}']} ms; "
            f"`]` into the next segment {figures[f'step_fwd_boundary_median_ms_{mode}']} ms "
            f"(max {figures[f'step_fwd_boundary_max_ms_{mode}']}); "
            f"`[` into the previous one {figures[f'step_back_boundary_median_ms_{mode}']} ms "
            f"(max {figures[f'step_back_boundary_max_ms_{mode}']})",
            flush=True,
        )
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
