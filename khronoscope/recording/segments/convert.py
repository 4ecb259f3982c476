"""Converting a v0.1 recording (one format-1 file) into a segmented one, streaming.

Blocks are replayed in file order (deltas decoded against the previous version, as the format-1
loader does) and every record goes to a SegmentedWriter: versions as versions, everything else
as it was. Memory stays at what the writer needs (never the whole history). Damage in the old
file is skipped as the format-1 loader skips it (a lost block becomes a gap, a keyframe after
it brings objects back in line) and reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.replay import (
    Extras,
    ObjectReplay,
    damage_gap,
    read_keyframe,
    resync_gaps,
)
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Converted:
    """What a conversion wrote."""

    changes: int
    segments: int
    bytes: int
    problems: list[str]


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    progress: Progress | None = None,
    options: SegmentOptions | None = None,
) -> Converted:
    """Write the format-1 recording `src` as a new segmented recording `dst`."""
    with RecordingReader(src) as reader:
        h = reader.header
        info = SourceInfo(
            str(h.get("cluster", "")),
            str(h.get("context", "")),
            str(h.get("server_version", "")),
            {str(k): str(v) for k, v in (h.get("extra") or {}).items()},
        )
        writer = SegmentedWriter.create_local(
            Path(dst),
            info,
            start=h.get("start") if isinstance(h.get("start"), int) else None,
            secrets=str(h.get("secrets", fmt.SECRETS_REDACTED)),
            options={**(h.get("options") or {}), "converted_from": str(src)},
            writer_options=options or SegmentOptions(),
        )
        try:
            _copy(reader, writer, progress)
        except BaseException:
            writer.close()
            raise
        writer.close(stop_t=reader.last_t)
        problems = [p.describe() for p in reader.report()]
    return Converted(writer.stats.changes, writer.stats.segments, writer.stats.bytes, problems)


def _copy(reader: RecordingReader, writer: SegmentedWriter, progress: Progress | None) -> None:
    def put(key: ObjectKey, t: int, raw: bytes) -> None:
        writer.append_raw(key, t, raw)

    def delete(key: ObjectKey, t: int) -> None:
        writer.append_raw(key, t, None)

    objects = ObjectReplay(on_put=put, on_delete=delete)
    total = reader.change_count
    keyframes = {kf.blocks[-1].offset: kf for kf in reader.keyframes()}
    damage_at = sorted(p.start for p in reader.problems)
    damaged = True  # a file may start with a keyframe (after retention)
    seen_data = False
    for i, b in enumerate(reader.blocks):
        while damage_at and damage_at[0] < b.offset:
            damage_at.pop(0)
            damaged = True
        if b.type == fmt.DATA:
            records = reader.records(b)
            if reader.is_bad(b):
                g = damage_gap(reader, i, "damaged block")
                writer.append_record([fmt.GAP, g.start, g.end, g.type, g.reason])
                damaged = True
                continue
            for r in records:
                if r[0] in fmt.CHANGE_KINDS:
                    objects.apply(r)
                elif r[0] < fmt.KF_BEGIN:
                    writer.append_record(r)
            seen_data = True
            if progress is not None:
                progress(objects.changes, total)
        elif b.type == fmt.KEYFRAME and b.offset in keyframes and (damaged or objects.broken):
            kf = keyframes[b.offset]
            first = not seen_data
            extras = Extras()
            entries = read_keyframe(reader, kf, extras)
            if entries is not None:
                objects.resync(kf.t, entries)
                damaged = False
                if first:
                    # a file cut by retention starts with a keyframe: what it says is in
                    # force (types, status, bookmarks) is nowhere else
                    for r in extras_records(extras, kf.t):
                        writer.append_record(r)
    for g in resync_gaps(reader):
        writer.append_record([fmt.GAP, g.start, g.end, g.type, g.reason])


def extras_records(ex: Extras, t: int) -> list[list]:
    """Format-1 records saying what `ex` holds (types, status, bookmarks, identity, gaps)."""
    out: list[list] = []
    if ex.types:
        out.append([fmt.TYPES, ex.types_t, [rec.type_to_list(x) for x in ex.types.values()]])
    for name, st in sorted(ex.status.items()):
        out.append([fmt.STATUS, st.since, name, st.state.value, st.error, st.objects, st.changes])
    for bid, b in sorted(ex.bookmarks.items()):
        created = ex.bookmark_created.get(bid, b.t)
        out.append(rec.bookmark_record(fmt.BOOKMARK, b, created))
    if ex.info:
        out.append([fmt.INFO, t, dict(ex.info)])
    for g in ex.gap_list():
        out.append([fmt.GAP, g.start, g.end, g.type, g.reason])
    return out
