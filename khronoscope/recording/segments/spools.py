"""The open segments' spool files, read as segments: what a follower and a reader after a
crash see of the last minutes.

Each spool not sealed yet (its sealed segment is not in the store) is read through the format-1
reader (a torn last block is left out, damage reported) and sealed in memory with the same code
as the writer's sealer, starting from the state the sealed segments leave. The result is held
by the catalog as segments of their own (`spool=True`), which a later refresh replaces with the
real sealed segment once the writer has sealed it.
"""

from __future__ import annotations

from pathlib import Path

from khronoscope.recording.segments import sealer
from khronoscope.recording.segments.catalog import (
    Damage,
    SegmentedRecording,
    SegmentInfo,
    read_spool,
)
from khronoscope.recording.segments.windows import Key, LogCache, StartStates


def load_spools(rec: SegmentedRecording) -> bool:
    """Seal the spool files in memory and give them to the catalog; True when they changed."""
    files = rec.spool_files()
    stamp = tuple((seq, _size(path)) for seq, path in files)
    if stamp == rec.spool_stamp:
        return False
    sealed = [s for s in rec.segments if not s.spool]
    logs = LogCache(rec)
    starts = StartStates(rec, logs)
    state = sealer.SealState()
    if sealed:
        last = sealed[-1]
        state.next_seq = last.seq + 1
        state.last_base = max((s.seq for s in sealed if s.base), default=None)
        state.floor_t = last.last_t
    spools: list[SegmentInfo] = []
    for seq, path in files:
        if seq < state.next_seq:
            continue  # sealed meanwhile
        records, problems = read_spool(path)
        for p in problems:
            rec.report(Damage(str(path), p))
        state.next_seq = seq
        types = {r[2] for r in records if r[0] in (0, 2)}
        for type_ in types:
            if type_ in state.live:
                continue
            if sealed:
                nxt = sealed[-1].seq + 1
                start = _end_state(rec, starts, logs, sealed[-1], type_, nxt)
            else:
                start = {}
            state.live[type_] = {k: (vt, s, rid, None) for k, (vt, s, rid) in start.items()}
        made = sealer.seal(records, state, False, _no_fetch, _no_dict, train=False)
        info = SegmentInfo(seq, str(path), len(made.data), made.footer, made.data, spool=True)
        spools.append(info)
    rec.set_spools(spools, stamp)
    return True


def _end_state(
    rec: SegmentedRecording,
    starts: StartStates,
    logs: LogCache,
    last: SegmentInfo,
    type_: str,
    _next: int,
) -> dict[Key, tuple[int, int, int]]:
    """The objects of a type alive at the end of the last sealed segment."""
    state = dict(starts.at(last.seq, type_))
    log = logs.get(last.seq, type_)
    if log is not None:
        for k, ref in log.last_refs():
            if ref is None:
                state.pop(k, None)
            else:
                state[k] = ref
    return state


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _no_fetch(seq: int, type_: str, rids: list[int]) -> list[bytes]:
    raise AssertionError("a spool read back is never a base that carries")


def _no_dict(name: str, data: bytes) -> None:
    raise AssertionError("no dictionary is trained for a spool read back")
