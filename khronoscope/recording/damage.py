"""What the damaged parts of a v1 recording held, from what the file still says around them.

A damaged data block, or unreadable bytes where change numbers are missing, lost its changes:
how many is known from the block headers or the numbering. Of which types and objects: a writer
with the `ledger` feature starts every data block with a LEDGER record saying which objects the
previous data block changed (and how often) and how many changes of each type it had written
before this block. The ledger of the first readable block after the damage names the objects of
the last lost block; the ledgers of the readable blocks on either side give the counts per type
of everything lost in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.loss import LostRun
from khronoscope.recording.reader import BlockInfo, RecordingReader


@dataclass(frozen=True, slots=True)
class _Lost:
    """Changes [first, first + count) that no readable block holds."""

    first: int
    count: int
    first_t: int | None
    last_t: int | None


@dataclass(frozen=True, slots=True)
class _Ledger:
    prev: int | None
    totals: dict[str, int]
    keys: dict[ObjectKey, int]


def lost_runs(reader: RecordingReader, include_tail: bool = True) -> list[LostRun]:
    """The changes the damage in `reader`'s file lost, run by run (call once everything was
    read: blocks found damaged while reading count too). `include_tail=False`: a block still
    being written at the end (a live writer's) is not lost."""
    lost = [
        _Lost(b.changes_before, b.changes, b.first_t, b.last_t)
        for b in reader.blocks
        if b.type == fmt.DATA and reader.is_bad(b) and b.changes
    ]
    lost += [
        _Lost(m.first, m.count, m.problem.first_t, m.problem.last_t)
        for m in reader.missing
        if m.count
    ]
    lost.sort(key=lambda x: x.first)
    runs: list[list[_Lost]] = []
    for item in lost:
        if runs and runs[-1][-1].first + runs[-1][-1].count == item.first:
            runs[-1].append(item)
        else:
            runs.append([item])
    good = [b for b in reader.blocks if b.type == fmt.DATA and not reader.is_bad(b)]
    out = [_attribute(reader, run, good) for run in runs]
    counted = {id(m.problem) for m in reader.missing}
    for p in reader.problems:
        # unreadable bytes no later block numbers (at the end of the file): how many changes
        # they held nobody can say
        if p.records is None and not p.lossless and p.changes is None and id(p) not in counted:
            out.append(LostRun(p.first_t, p.last_t, None))
    tail = reader.pending_tail
    # the torn end of an interrupted write: its header (when whole) says how many changes
    if include_tail and tail is not None and (tail.changes is None or tail.changes):
        out.append(LostRun(tail.first_t, tail.last_t, tail.changes))
    first_kf = next((b for b in reader.blocks if b.type == fmt.KEYFRAME), None)
    if (
        "compacted" in reader.header
        and first_kf is not None
        and first_kf.changes_before == 0
        and reader.is_bad(first_kf)
    ):
        # retention's keyframe holds the state the dropped blocks left: nothing else does
        out.append(LostRun(first_kf.first_t, first_kf.last_t, None))
    return out


def _attribute(reader: RecordingReader, run: list[_Lost], good: list[BlockInfo]) -> LostRun:
    start = run[0].first
    end = run[-1].first + run[-1].count
    total = end - start
    times = [t for x in run for t in (x.first_t, x.last_t) if t is not None]
    out = LostRun(min(times, default=None), max(times, default=None), total)
    after = next((b for b in good if b.changes_before == end), None)
    ledger = _ledger(reader, after) if after is not None else None
    if ledger is None:
        return out
    if (
        ledger.prev is not None
        and start <= ledger.prev
        and ledger.prev + sum(ledger.keys.values()) == end
    ):
        out.by_key = dict(ledger.keys)
    before_totals = _totals_at(reader, start, good)
    if before_totals is not None:
        by_type = {
            t: n - before_totals.get(t, 0)
            for t, n in ledger.totals.items()
            if n - before_totals.get(t, 0)
        }
        if all(n > 0 for n in by_type.values()) and sum(by_type.values()) == total:
            out.by_type = by_type
    if out.by_key is not None and out.by_type is not None:
        named: dict[str, int] = {}
        for key, n in out.by_key.items():
            named[key.type] = named.get(key.type, 0) + n
        if any(n > out.by_type.get(t, 0) for t, n in named.items()):
            out.by_key = None  # the two ledgers disagree: trust neither's names
    return out


def _totals_at(
    reader: RecordingReader, change: int, good: list[BlockInfo]
) -> dict[str, int] | None:
    """Changes per type written before change number `change`, from a readable block ending
    there (its ledger plus its own changes)."""
    if change == 0 and "compacted" not in reader.header:
        return {}
    for b in reversed(good):
        if b.changes_before + b.changes != change:
            continue
        records = reader.records(b)
        ledger = _ledger_of(b, records)
        if ledger is None:
            continue
        totals = dict(ledger.totals)
        for r in records:
            if r[0] in fmt.CHANGE_KINDS:
                totals[r[2]] = totals.get(r[2], 0) + 1
        return totals
    return None


def _ledger(reader: RecordingReader, b: BlockInfo) -> _Ledger | None:
    return _ledger_of(b, reader.records(b))


def _ledger_of(b: BlockInfo, records: list[list]) -> _Ledger | None:
    """The ledger a data block starts with (the block it describes given by its number)."""
    if not records or records[0][0] != fmt.LEDGER:
        return None
    r = records[0]
    prev = None if r[2] is None else b.changes_before - r[2]
    return _Ledger(prev, dict(r[3]), rec.ledger_keys(r))
