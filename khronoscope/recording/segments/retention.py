"""Retention of a segmented recording: delete whole sealed segments, oldest first.

Nothing is rewritten. The recording then starts at a base (a segment that describes the state
at its start) whose references are all kept; the few segments between what that base refers to
and the base itself stay, unseen, for the versions it refers to. The newest base and everything
after it always stay, whatever the limits say.
"""

from __future__ import annotations

from dataclasses import dataclass

from khronoscope.recording.segments import layout
from khronoscope.storage import BlobStore


@dataclass(frozen=True, slots=True)
class SegmentMeta:
    """What retention needs to know of a sealed segment."""

    seq: int
    name: str
    size: int
    first_t: int
    last_t: int
    changes: int
    base: bool
    refs_from: int


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What a retention pass did (the fields `khronoscope record` reports)."""

    compacted: bool
    start_t: int | None
    dropped_changes: int
    old_size: int
    new_size: int
    index: list[list[int]]
    deleted: tuple[str, ...] = ()


def choose_start(
    segments: list[SegmentMeta], max_age: int | None, max_size: int | None
) -> SegmentMeta | None:
    """The base the recording should start at (None: keep everything)."""
    bases = [s for s in segments if s.base]
    if not bases or not segments:
        return None
    keep: SegmentMeta | None = None
    if max_age is not None:
        end = max(s.last_t for s in segments)
        cut = end - max_age
        # the newest base at or before the cut: what is kept still covers max_age
        older = [b for b in bases if b.first_t <= cut]
        if older:
            keep = older[-1]
    if max_size is not None:
        total = sum(s.size for s in segments)
        if total > max_size:
            for b in bases:
                kept = sum(s.size for s in segments if s.seq >= b.refs_from)
                if kept <= max_size or b is bases[-1]:
                    if keep is None or b.seq > keep.seq:
                        keep = b
                    break
    if keep is None or keep.refs_from <= segments[0].seq:
        return None
    return keep


def apply(
    store: BlobStore,
    segments: list[SegmentMeta],
    max_age: int | None,
    max_size: int | None,
) -> RetentionResult:
    """Delete the segments (and roll-up indexes) no longer needed; oldest first, so a crash
    midway leaves a recording that starts a little later, never a broken one."""
    old_size = sum(s.size for s in segments)
    start = choose_start(segments, max_age, max_size)
    if start is None:
        first = next((s.first_t for s in segments if s.changes), None)
        return RetentionResult(False, first, 0, old_size, old_size, [])
    gone = [s for s in segments if s.seq < start.refs_from]
    deleted = []
    for s in gone:
        store.delete(s.name)
        deleted.append(s.name)
    for blob in list(store.list(layout.ROLLUPS)):
        span = layout.parse_rollup(blob.name)
        if span is not None and span[1] < start.refs_from:
            store.delete(blob.name)
            deleted.append(blob.name)
    kept = [s for s in segments if s.seq >= start.refs_from]
    new_size = sum(s.size for s in kept)
    # where a reader starts showing (history.visible_segments' rule): an older base than the
    # one chosen may have all it refers to kept too, and then what it shows is there
    present = {s.seq for s in kept}
    shown = next(
        s for s in kept if s.base and all(q in present for q in range(s.refs_from, s.seq + 1))
    )
    before = [s for s in kept if s.seq < shown.seq and s.changes]
    after = [s for s in kept if s.seq >= shown.seq and s.changes]
    start_t = before[-1].last_t + 1 if before else (after[0].first_t if after else shown.first_t)
    return RetentionResult(
        True,
        start_t,
        sum(s.changes for s in gone) + sum(s.changes for s in before),
        old_size,
        new_size,
        [],
        tuple(deleted),
    )
