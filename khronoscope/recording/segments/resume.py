"""Going on with a recording a previous recorder wrote (a restarted pod, a recorder killed -9).

A recorder that writes to object storage is restarted on the same prefix: rather than a second
recording, it continues the first. What it needs is what its predecessor's writer held in
memory, rebuilt from the recording itself: where every live object's version is stored (the end
state, as a reader derives it), the last base, the shared dictionaries, the segments for
retention, and a content hash per live object so that the relist after the restart records only
what really changed while nobody watched. The predecessor's open segment, spooled on local disk,
is sealed first with that state, exactly as its own writer would have.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard as zstd

from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording.segments import layout
from khronoscope.recording.segments.catalog import SegmentedRecording, SegmentInfo
from khronoscope.recording.segments.retention import SegmentMeta
from khronoscope.recording.segments.sealer import Dictionary, SealState, seal_spool
from khronoscope.recording.segments.spoolread import SpoolFile
from khronoscope.recording.segments.windows import LogCache, StartStates
from khronoscope.storage import BlobNotFound, BlobStore


@dataclass(slots=True)
class Resumed:
    """What a writer needs to go on where a previous one stopped."""

    state: SealState
    metas: list[SegmentMeta] = field(default_factory=list)
    current: dict[ObjectKey, tuple[int, int]] = field(default_factory=dict)  # (t, hash)
    last_t: int | None = None  # the newest change recorded
    closed: bool = False  # the previous recorder stopped cleanly
    sealed_spools: int = 0  # spools of the previous run sealed now
    recovered_changes: int = 0  # changes in them

    @property
    def next_seq(self) -> int:
        """The sequence number of the next segment."""
        return self.state.next_seq


def meta_of(seg: SegmentInfo) -> SegmentMeta:
    """What retention needs of a segment."""
    return SegmentMeta(
        seg.seq, seg.name, seg.size, seg.first_t, seg.last_t, seg.changes, seg.base, seg.refs_from
    )


def resume(
    store: BlobStore,
    wal_dir: Path | None,
    publish: Callable[[str, bytes], None],
    progress: Callable[[str], None] | None = None,
) -> Resumed:
    """The state at the end of the recording in `store`, after sealing (and publishing) the
    spools a previous run left in `wal_dir`."""
    rec = SegmentedRecording(store, None, cache_bytes=32 << 20)
    sealed = [s for s in rec.segments if not s.spool]
    state = SealState()
    out = Resumed(state)
    if sealed:
        last = sealed[-1]
        state.next_seq = last.seq + 1
        state.floor_t = last.last_t
        bases = [s.seq for s in sealed if s.base]
        state.last_base = bases[-1] if bases else None
        if state.last_base is not None:
            state.segments_since_base = sum(1 for s in sealed if s.seq > state.last_base)
        out.metas = [meta_of(s) for s in sealed]
        out.last_t = max((s.last_t for s in sealed if s.changes), default=None)
        out.closed = isinstance(last.footer.get("closed"), int)
        if progress is not None:
            progress(f"continuing the recording: {len(sealed)} segments, reading its end state")
        _end_state(rec, sealed, state, out)
        _dictionaries(store, sealed, state)
    for seq, path in _spools(wal_dir):
        if rec.segment(seq) is not None or seq < state.next_seq:
            path.unlink()  # sealed before the crash (its segment exists), or superseded
            continue
        with SpoolFile(path) as spool:
            if next(spool.records(), None) is None:
                made = None
            else:
                state.next_seq = seq
                made = seal_spool(spool, state, False, _no_fetch, publish)
                # the writer's dedupe table after the spool (read again: never held whole)
                _apply(out, (r for _ref, r in spool.records()))
        if made is None:
            path.unlink()
            continue
        publish(made.name, made.data)
        f = made.footer
        out.metas.append(
            SegmentMeta(
                seq, made.name, len(made.data), f["first_t"], f["last_t"], f["changes"], False, seq
            )
        )
        out.sealed_spools += 1
        out.recovered_changes += int(f["changes"])
        path.unlink()
    if out.metas:
        changed = [m.last_t for m in out.metas if m.changes]
        out.last_t = max(changed) if changed else out.last_t
    return out


def _spools(wal_dir: Path | None) -> list[tuple[int, Path]]:
    if wal_dir is None or not wal_dir.is_dir():
        return []
    found = []
    for p in wal_dir.iterdir():
        seq = layout.parse_wal(p.name)
        if seq is not None:
            found.append((seq, p))
    return sorted(found)


def _end_state(
    rec: SegmentedRecording, sealed: list[SegmentInfo], state: SealState, out: Resumed
) -> None:
    """Every live object's place and content hash at the end of the last sealed segment."""
    last = sealed[-1]
    base = state.last_base if state.last_base is not None else sealed[0].seq
    types: set[str] = set()
    for s in sealed:
        if s.seq >= base:
            types.update(s.types)
    logs = LogCache(rec)
    starts = StartStates(rec, logs)
    for type_ in sorted(types):
        refs = dict(starts.at(last.seq, type_))
        log = logs.get(last.seq, type_)
        if log is not None:
            for k, ref in log.last_refs():
                if ref is None:
                    refs.pop(k, None)
                else:
                    refs[k] = ref
        if not refs:
            continue
        by_seg: dict[int, list[tuple[tuple[str, str], int, int]]] = {}
        for k, (vt, seq, rid) in refs.items():
            by_seg.setdefault(seq, []).append((k, vt, rid))
        live = state.live.setdefault(type_, {})
        for seq, items in by_seg.items():
            raws = rec.records(seq, type_, [rid for _k, _vt, rid in items])
            for (k, vt, rid), raw in zip(items, raws, strict=True):
                h = hash(raw) if raw is not None else None
                live[k] = (vt, seq, rid, h)
                if h is not None:
                    out.current[ObjectKey(type_, k[0], k[1])] = (vt, h)


def _dictionaries(store: BlobStore, sealed: list[SegmentInfo], state: SealState) -> None:
    """Each type's newest shared dictionary, so later segments go on using it."""
    for seg in reversed(sealed):
        for type_, doc in seg.types.items():
            name = doc.get("dict")
            if type_ in state.dicts or not isinstance(name, str):
                continue
            with contextlib.suppress(BlobNotFound, zstd.ZstdError, ValueError):
                state.dicts[type_] = Dictionary(name, zstd.ZstdCompressionDict(store.get(name)))


def _apply(out: Resumed, records: Iterable[list[Any]]) -> None:
    """The writer's dedupe table after a spool's records."""
    for r in records:
        kind = r[0]
        if kind == fmt.PUT_FULL:
            key = ObjectKey(str(r[2]), str(r[3]), str(r[4]))
            out.current[key] = (int(r[1]), hash(r[5]))
        elif kind == fmt.DELETE:
            out.current.pop(ObjectKey(str(r[2]), str(r[3]), str(r[4])), None)


def _no_fetch(seq: int, type_: str, rids: list[int]) -> list[bytes]:
    raise AssertionError("a spool sealed on resume is never a base that carries")
