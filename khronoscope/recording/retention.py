"""Retention: rewrite a recording without its oldest data, never without its newest.

The cut is on a block boundary: the blocks before it are replayed into the state they leave (and
the bookmarks, gaps, status and types known then), which becomes a keyframe at the new start; the
blocks after it are copied byte for byte (only their header's change count is renumbered), so
their deltas still find their bases in that keyframe. The new file is written next to the old
one, fsync'ed, and renamed over it: a crash at any point leaves either the old file or the new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import zstandard as zstd

from khronoscope.core.files import create_new
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.reader import BlockInfo, RecordingReader
from khronoscope.recording.replay import Extras, ObjectReplay, apply_block, read_keyframe


@dataclass(frozen=True, slots=True)
class CompactResult:
    """What a compaction did."""

    compacted: bool
    start_t: int | None
    dropped_changes: int
    old_size: int
    new_size: int
    index: list[list[int]]


def choose_cut(
    reader: RecordingReader, max_age: int | None, max_size: int | None, slack: float = 0.0
) -> int:
    """Index of the first block to keep (0: keep everything), from block headers alone.

    The newest data block and everything after it are always kept, whatever the limits say.
    With `slack`, 0 until the oldest data is `slack * max_age` past the age limit or the file
    over `max_size`; a size cut then aims `slack` under `max_size`.
    """
    blocks = reader.blocks
    data = [i for i, b in enumerate(blocks) if b.type == fmt.DATA]
    if not data:
        return 0
    newest = data[-1]
    cut = 0
    due = False
    if max_age is not None:
        end = max(b.last_t for b in blocks if b.type == fmt.DATA)
        first = min(b.first_t for b in blocks if b.type == fmt.DATA)
        due = first < end - max_age - int(max_age * slack)
    if max_size is not None:
        due = due or reader.size > max_size
    if slack and not due:
        return 0
    if max_size is not None:
        max_size = int(max_size * (1 - slack))
    if max_age is not None:
        limit = end - max_age
        # keep from the first data block holding anything at or after the limit
        cut = next((i for i in data if blocks[i].last_t >= limit), newest)
    if max_size is not None:
        kf = _last_keyframe_size(reader)
        i = cut
        kept = sum(b.end - b.offset for b in blocks[i:])
        while i < newest and kept + kf + reader.data_start > max_size:
            kept -= blocks[i].end - blocks[i].offset
            i += 1
        cut = max(cut, i)
    # start on a data block (keyframes right at the cut are rebuilt anyway)
    while cut < len(blocks) and blocks[cut].type != fmt.DATA and cut < newest:
        cut += 1
    cut = min(cut, newest)
    # nothing to drop when no data comes before the cut (e.g. only the keyframe of a past cut)
    return cut if any(i < cut for i in data) else 0


def _last_keyframe_size(reader: RecordingReader) -> int:
    kfs = reader.keyframes()
    if not kfs:
        return 0
    return sum(b.end - b.offset for b in kfs[-1].blocks)


def compact(
    path: str | os.PathLike[str],
    max_age: int | None = None,
    max_size: int | None = None,
    final_index: bool = True,
    slack: float = 0.0,
    known_blocks: list[list[int]] | None = None,
) -> CompactResult:
    """Drop the oldest data of the recording at `path` beyond `max_age` ns or `max_size` bytes.

    With `slack` (a fraction), nothing is done until the excess reaches `slack` of the limit,
    and then a size cut goes `slack` under it: each compaction rewrites the whole file, so a
    recorder checking every few minutes must not do it for a few minutes' worth of data.
    """
    path = Path(path)
    with RecordingReader(path, known_blocks) as reader:
        old_size = reader.size
        # block headers are enough to know whether anything is due: a periodic check of a
        # multi-GB recording must not read it all (the recorder checks from its event loop)
        cut = choose_cut(reader, max_age, max_size, slack)
        if cut == 0:
            return CompactResult(False, reader.first_t, 0, old_size, old_size, [])
        # every payload is checked: a copied block gets a new header, which must never vouch
        # for bytes that were already damaged
        if reader.verify():
            raise KhronoscopeError(
                f"{path} is damaged ({reader.report()[0].describe()}): not compacting it; "
                "copy what is readable with `khronoscope open` first"
            )
        state, extras, dropped = _state_before(reader, cut)
        kept = [b for b in reader.blocks[cut:] if b.type != fmt.INDEX]
        start_t = kept[0].first_t if kept else 0
        tmp = path.with_name(path.name + ".compacting")
        header = dict(reader.header)
        header["compacted"] = {"start": start_t, "dropped_changes": dropped}
        # a leftover of a crash goes; a symlink planted there is removed, never followed
        tmp.unlink(missing_ok=True)
        fd = create_new(tmp)
        try:
            index = _write(fd, reader, header, state, extras, start_t, kept, dropped)
            if final_index:
                _write_index(fd, index)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)
        _sync_dir(path.parent)
        return CompactResult(True, start_t, dropped, old_size, path.stat().st_size, index)


def _state_before(
    reader: RecordingReader, cut: int
) -> tuple[dict[ObjectKey, tuple[int, bytes]], Extras, int]:
    """Objects and extras as the blocks before `cut` leave them (from the last keyframe there)."""
    start, state = 0, {}
    extras = Extras()
    for kf in reversed(reader.keyframes()):
        last = reader.blocks.index(kf.blocks[-1])
        if last < cut:
            entries = read_keyframe(reader, kf, extras)
            if entries is not None:
                start, state = last + 1, entries
                break
    replay = ObjectReplay(state)
    for i in range(start, cut):
        if reader.blocks[i].type == fmt.DATA:
            apply_block(reader, i, replay, extras, series=False)
    dropped = sum(b.changes for b in reader.blocks[:cut] if b.type == fmt.DATA)
    return replay.state, extras, dropped


def _write(
    fd: int,
    reader: RecordingReader,
    header: dict,
    state: dict[ObjectKey, tuple[int, bytes]],
    extras: Extras,
    start_t: int,
    kept: list[BlockInfo],
    dropped: int,
) -> list[list[int]]:
    out = _Out(fd)
    out.write(fmt.pack_file_header(header))
    index: list[list[int]] = []
    kf_t = start_t - 1  # the state in force just before the first kept record
    parts = [rec.pack([fmt.KF_BEGIN, kf_t, len(state), 0, extras.max_bookmark_id])]
    if extras.types:
        parts.append(
            rec.pack(
                [fmt.TYPES, extras.types_t, [rec.type_to_list(t) for t in extras.types.values()]]
            )
        )
    for name, s in sorted(extras.status.items()):
        parts.append(
            rec.pack([fmt.STATUS, s.since, name, s.state.value, s.error, s.objects, s.changes])
        )
    for b in extras.bookmark_list():
        created = extras.bookmark_created.get(b.id, b.t)
        parts.append(rec.pack(rec.bookmark_record(fmt.BOOKMARK, b, created)))
    for g in extras.gap_list():
        if g.end >= kf_t:
            parts.append(rec.pack([fmt.GAP, g.start, g.end, g.type, g.reason]))
    if extras.info:
        parts.append(rec.pack([fmt.INFO, kf_t, extras.info]))
    for key in sorted(state):
        raw = state[key][1]
        parts.append(rec.pack([fmt.KF_OBJECT, kf_t, key.type, key.namespace, key.name, raw]))
    raw = b"".join(parts)
    payload = zstd.ZstdCompressor(level=6).compress(raw)
    flags = fmt.F_ZSTD | fmt.F_KEYFRAME_END
    index.append([out.pos, fmt.KEYFRAME, flags, len(payload), len(parts), 0, kf_t, kf_t, 0])
    out.write(fmt.pack_block(fmt.KEYFRAME, flags, payload, len(raw), len(parts), 0, kf_t, kf_t, 0))
    for b in kept:
        block = reader._read_at(b.offset, b.end - b.offset)
        h = fmt.unpack_block_header(block)
        if h is None:
            raise KhronoscopeError(f"{reader.path} changed while compacting it")
        payload = block[fmt.BLOCK_HEADER_SIZE :]
        before = b.changes_before - dropped
        index.append(
            [
                out.pos,
                b.type,
                b.flags,
                len(payload),
                b.records,
                b.changes,
                b.first_t,
                b.last_t,
                before,
            ]
        )
        out.write(
            fmt.pack_block(
                b.type,
                b.flags,
                payload,
                h.raw_len,
                b.records,
                b.changes,
                b.first_t,
                b.last_t,
                before,
            )
        )
    return index


def _write_index(fd: int, index: list[list[int]]) -> None:
    out = _Out(fd)
    out.pos = os.lseek(fd, 0, os.SEEK_CUR)
    raw = rec.pack([fmt.INDEX, index])
    payload = zstd.ZstdCompressor(level=3).compress(raw)
    first = min((e[6] for e in index), default=0)
    last = max((e[7] for e in index), default=0)
    offset = out.pos
    total = sum(e[5] for e in index)
    out.write(
        fmt.pack_block(fmt.INDEX, fmt.F_ZSTD, payload, len(raw), len(index), 0, first, last, total)
        + fmt.pack_trailer(offset)
    )


class _Out:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.pos += len(data)


def _sync_dir(directory: Path) -> None:
    # the rename is durable only once the directory entry is
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
