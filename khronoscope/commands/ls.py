"""`khronoscope ls URL`: the recordings under a prefix (s3://BUCKET/clusters/) or a directory:
cluster, time span, size, last write, and whether a recorder is writing it now (its lease)."""

from __future__ import annotations

import argparse
import sys

from khronoscope.commands._changes import write_json
from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.recording.recorder import _size
from khronoscope.recording.remote import NotOneRecording, describe, find_recordings
from khronoscope.storage import open_store
from khronoscope.storage.url import parse_store_url

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `khronoscope ls`."""
    parser.add_argument(
        "location",
        metavar="URL",
        help="s3://BUCKET/PREFIX, file:///PATH or a directory holding recordings",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(args: argparse.Namespace) -> int:
    """List the recordings, one line each (or JSON)."""
    where = parse_store_url(args.location)
    if not where.remote and (where.path is None or not where.path.expanduser().is_dir()):
        raise NotOneRecording(f"{args.location}: not a directory")
    store = open_store(where.url if where.remote else str(where.path.expanduser()))  # type: ignore[union-attr]
    found = find_recordings(store)
    if not found:
        raise NotOneRecording(f"{args.location}: no khronoscope recording there")
    rows = [describe(store, f) for f in found]
    base = where.url.rstrip("/")
    if args.json:
        write_json(
            [
                {
                    "recording": f"{base}/{d.found.prefix.rstrip('/')}" if d.found.prefix else base,
                    "cluster": d.cluster,
                    "first": format_iso(d.found.first_t) if d.found.first_t else None,
                    "last": format_iso(d.found.last_t) if d.found.last_t else None,
                    "segments": d.found.segments,
                    "bytes": d.found.size,
                    "last_write": format_iso(d.found.last_write_ns),
                    "writer": d.writer,
                    "writer_alive": d.alive,
                }
                for d in rows
            ],
            sys.stdout,
        )
        return 0
    table = [("RECORDING", "CLUSTER", "FROM", "TO", "SIZE", "LAST WRITE", "WRITER")]
    for d in rows:
        f = d.found
        table.append(
            (
                f.prefix.rstrip("/") or ".",
                d.cluster,
                format_iso(f.first_t) if f.first_t else "-",
                format_iso(f.last_t) if f.last_t else "-",
                _size(f.size),
                format_iso(f.last_write_ns) if f.last_write_ns else "-",
                d.writer,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print(safe_line(f"{len(rows)} recordings under {base}:"))
    for r in table:
        line = "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        print(safe_line(line))
    return 0
