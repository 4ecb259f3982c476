"""Retention of a recording that is being written (`record --max-age/--max-size`, and the live
app's default 7 days): what a periodic check costs when there is nothing to drop, and what a
compaction costs when there is.

The recorder checks every 10 minutes from the event loop that also feeds the watchers (and, in
the app, draws the screen), so a check that reads the whole file is a stall users feel.

    python bench/retention.py            # 300,000 changes
    python bench/retention.py --changes 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recording import crashed_copy, write
from stream import stream

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.retention import compact
from khronoscope.recording.writer import RecordingWriter


def main() -> None:
    """Write a recording, then time a check with nothing to drop and a 10% compaction."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=3000)
    ap.add_argument("--changes", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.khr"
        write(path, args.objects, args.changes, 1)
        with RecordingReader(path) as r:
            first, last = r.first_t, r.last_t
        assert first is not None and last is not None
        span = last - first
        size = path.stat().st_size
        print(
            f"recording: {args.changes:,} changes, {size / 2**20:.1f} MiB, span {span / 1e9:.0f} s"
        )
        # what the recorder really calls: the writer knows its blocks, nothing is read
        live = Path(tmp) / "live.khr"
        writer = RecordingWriter.create(live, SourceInfo("bench", "bench", "v1.31.0"))
        for t, key, obj in stream(args.objects, args.changes, 1):
            kind = ChangeKind.DELETED if obj is None else ChangeKind.MODIFIED
            writer.append_change(Change(t, key, kind, obj))
        t0 = time.perf_counter()
        result = writer.compact(span * 2, None, 0.1)
        spent = time.perf_counter() - t0
        writer.close()
        print(f"{'check by the writing recorder:':40}{spent * 1000:8.0f} ms  (unchanged)")
        # a file being written has no index yet: the reader walks the block headers
        unindexed = Path(tmp) / "u.khr"
        crashed_copy(path, unindexed)
        for label, source, max_age in (
            ("check, nothing to drop (indexed)", path, span * 2),
            ("check, nothing to drop (being written)", unindexed, span * 2),
            ("compaction dropping ~10%", unindexed, span * 9 // 10),
        ):
            work = Path(tmp) / "w.khr"
            shutil.copy(source, work)
            t0 = time.perf_counter()
            # what RecordingWriter.compact runs on the file it writes (an index only at close)
            result = compact(work, max_age, None, final_index=False)
            spent = time.perf_counter() - t0
            print(
                f"{label + ':':40}{spent * 1000:8.0f} ms  "
                f"({'compacted' if result.compacted else 'unchanged'}, "
                f"{result.old_size / 2**20:.1f} -> {result.new_size / 2**20:.1f} MiB)"
            )


if __name__ == "__main__":
    main()
