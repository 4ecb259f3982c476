"""The open segments' spool files, read as segments: what a follower and a reader after a
crash see of the last minutes.

Each spool not sealed yet (its sealed segment is not in the store) is read through the format-1
reader (a torn last block waits for its end, damage is reported) and sealed in memory with the
same code as the writer's sealer, starting from the state the sealed segments leave. A follower
polls: only the blocks written since are read and sealed, as one more *part* (a small segment
of its own, numbered apart from sealed ones), so following costs what was written, not the
spool's size. When the writer seals a spool, the next refresh drops its parts and the real
segment replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.recording import format as fmt
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.recording.segments import sealer
from khronoscope.recording.segments.catalog import Damage, SegmentedRecording, SegmentInfo
from khronoscope.recording.segments.windows import Key, LogCache, StartStates

# parts are numbered above every sealed segment: PART_BASE + spool seq * PARTS + part number
PART_BASE = 1 << 40
PARTS = 1_000_000


@dataclass(slots=True)
class _Spool:
    reader: RecordingReader
    next_block: int = 0
    parts: int = 0


@dataclass(slots=True)
class SpoolFollower:
    """What has been read of the spools so far, and the seal state after it."""

    sealed_last: int | None
    state: sealer.SealState
    spools: dict[int, _Spool] = field(default_factory=dict)
    parts: list[SegmentInfo] = field(default_factory=list)
    typed: set[str] = field(default_factory=set)

    def close(self) -> None:
        """Close the spool files."""
        for sp in self.spools.values():
            sp.reader.close()
        self.spools.clear()


def load_spools(rec: SegmentedRecording) -> bool:
    """Read what the spools hold beyond what was read before, as new parts; True when the
    segments shown changed."""
    sealed = [s for s in rec.segments if not s.spool]
    sealed_last = sealed[-1].seq if sealed else None
    follower: SpoolFollower | None = rec.spool_follower
    changed = False
    if follower is None or follower.sealed_last != sealed_last:
        if follower is not None:
            follower.close()
            changed = bool(follower.parts)
        follower = _new_follower(rec, sealed)
        rec.spool_follower = follower
        rec.set_spools([], ())
    new = _poll(rec, follower, sealed)
    if new:
        follower.parts.extend(new)
        rec.set_spools(list(follower.parts), ())
    return changed or bool(new)


def _new_follower(rec: SegmentedRecording, sealed: list[SegmentInfo]) -> SpoolFollower:
    state = sealer.SealState()
    if sealed:
        last = sealed[-1]
        state.last_base = max((s.seq for s in sealed if s.base), default=None)
        state.floor_t = last.last_t
    return SpoolFollower(sealed[-1].seq if sealed else None, state)


def _poll(
    rec: SegmentedRecording, follower: SpoolFollower, sealed: list[SegmentInfo]
) -> list[SegmentInfo]:
    out: list[SegmentInfo] = []
    sealed_seqs = {s.seq for s in sealed}
    for seq, path in rec.spool_files():
        if seq in sealed_seqs:
            continue
        sp = follower.spools.get(seq)
        if sp is None:
            try:
                sp = follower.spools[seq] = _Spool(RecordingReader(path))
            except NotARecording as err:
                rec.report(Damage(str(path), f"spool unreadable ({err})"))
                continue
        else:
            sp.reader.refresh()
        blocks = sp.reader.blocks[sp.next_block :]
        if not blocks:
            continue
        records: list[list[Any]] = []
        for b in blocks:
            if b.type == fmt.DATA:
                records.extend(sp.reader.records(b))
        sp.next_block = len(sp.reader.blocks)
        for p in sp.reader.problems:
            rec.report(Damage(str(path), p.describe()))
        if not records:
            continue
        part = _seal_part(rec, follower, sealed, seq, sp, records)
        out.append(part)
    return out


def _seal_part(
    rec: SegmentedRecording,
    follower: SpoolFollower,
    sealed: list[SegmentInfo],
    seq: int,
    sp: _Spool,
    records: list[list[Any]],
) -> SegmentInfo:
    state = follower.state
    for type_ in {r[2] for r in records if r[0] in (fmt.PUT_FULL, fmt.DELETE)}:
        if type_ in follower.typed:
            continue
        follower.typed.add(type_)
        start = _end_state(rec, sealed, type_) if sealed else {}
        state.live.setdefault(type_, {}).update(
            {k: (vt, s, rid, None) for k, (vt, s, rid) in start.items()}
        )
    part_seq = PART_BASE + seq * PARTS + sp.parts
    sp.parts += 1
    state.next_seq = part_seq
    made = sealer.seal(records, state, False, _no_fetch, _no_dict, train=False)
    name = f"{Path(sp.reader.path)}#{sp.parts - 1}"
    return SegmentInfo(part_seq, name, len(made.data), made.footer, made.data, spool=True)


def _end_state(
    rec: SegmentedRecording, sealed: list[SegmentInfo], type_: str
) -> dict[Key, tuple[int, int, int]]:
    """The objects of a type alive at the end of the last sealed segment."""
    logs = LogCache(rec)
    last = sealed[-1]
    state = dict(StartStates(rec, logs).at(last.seq, type_))
    log = logs.get(last.seq, type_)
    if log is not None:
        for k, ref in log.last_refs():
            if ref is None:
                state.pop(k, None)
            else:
                state[k] = ref
    return state


def _no_fetch(seq: int, type_: str, rids: list[int]) -> list[bytes]:
    raise AssertionError("a spool read back is never a base that carries")


def _no_dict(name: str, data: bytes) -> None:
    raise AssertionError("no dictionary is trained for a spool read back")
