"""Sealing: the records of one spooled segment become one immutable segment object.

Versions are grouped by type and packed chain by chain (an object's versions side by side, then
the next object's, keys in order) into ~1 MiB zstd blocks compressed with the type's shared
dictionary: the cold-block packing of temporal/cold.py, persisted. A spool file is sealed as it
is read (`seal_spool`): one pass notes where each version is, then blocks are packed from
versions read back SEAL_BATCH_RAW at a time, so a seal's memory does not grow with the spool.
Every object write follows the TemporalMap's rules (a put equal to the version in force, or a
delete of nothing, is not a change; a write at the time of an existing version replaces it), so
a recording holds exactly what the live map held.

A base segment also describes the state at its start: for every object then alive, where its
version is stored. A reference reaches back at most to the previous base; a version older than
that is carried (copied into this segment's blocks), so retention can delete every segment
before a base's predecessor without rewriting anything.
"""

from __future__ import annotations

import hashlib
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import zstandard as zstd

from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording.replay import Extras
from khronoscope.recording.segments import keyfilter, layout
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.spoolread import SpoolChanged

# 1 MiB blocks, lazy2 with 6-byte minimum matches: on bench/longhistory.py's stream 3.5%
# smaller than level 12's btlazy2 with 5-byte matches, at half its CPU (bench/seal.py), and ~7%
# smaller than temporal/cold.py's 192 KiB blocks; a block costs ~1 ms to decompress. Larger
# blocks compress better still (2 MiB: -2%) but every random read would decompress twice as much
BLOCK_RAW = 1024 * 1024
DICT_SIZE = 32 * 1024
DICT_MIN_SAMPLES = 64
DICT_MAX_SAMPLES = 4000
# a type's samples stop at this many bytes (zstd advises ~100x the dictionary, 3 MiB; 4,000
# pods of bench/stream.py make 17 MiB): a bound for huge objects, never reached otherwise
DICT_MAX_SAMPLE_BYTES = 32 * 1024 * 1024
# versions read back from a spool at a time while packing blocks: a seal's memory is about this
# plus its index of the versions, never the spool's size. Each batch decompresses the spool
# again (its versions are spread over all of it): on bench/seal.py's 128 MiB spools 32 MiB costs
# ~3% more CPU per seal than reading it whole, 16 MiB ~15%, for a peak RSS 16 MiB lower
SEAL_BATCH_RAW = 32 * 1024 * 1024
_BLOCK_PARAMS = zstd.ZstdCompressionParameters(
    window_log=20,
    chain_log=20,
    hash_log=21,
    search_log=6,
    min_match=6,
    target_length=32,
    strategy=zstd.STRATEGY_LAZY2,
    write_content_size=True,
    write_checksum=False,
    write_dict_id=False,
)

Key = tuple[str, str]  # (namespace, name) within a type
# where an object's version in force is: (time it began, segment seq, record id, content hash)
Loc = tuple[int, int, int, int | None]
# fetch(seq, type, record ids) -> the records' bytes (for carrying old versions into a base)
Fetch = Callable[[int, str, list[int]], list[bytes]]


@dataclass(slots=True)
class Dictionary:
    """A type's shared zstd dictionary and its object name."""

    name: str
    data: zstd.ZstdCompressionDict


@dataclass(slots=True)
class SealState:
    """What sealing the next segment needs from the ones before: where every live object's
    version is, the last base, the shared dictionaries, and the recording's extras so far."""

    live: dict[str, dict[Key, Loc]] = field(default_factory=dict)
    next_seq: int = 0
    last_base: int | None = None
    base_bytes: int = 0
    since_base_bytes: int = 0
    floor_t: int | None = None  # last_t of the newest sealed segment
    dicts: dict[str, Dictionary] = field(default_factory=dict)
    extras: Extras = field(default_factory=Extras)
    segments_since_base: int = 0


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed segment: its object name, bytes and footer."""

    name: str
    data: bytes
    footer: dict[str, Any]
    filter: bytes


class VersionSource(Protocol):
    """A spool's records in order, each with where it is, and versions' bytes read back by
    where they are (a `SpoolFile`, or records handed over in memory)."""

    def records(self) -> Iterator[tuple[int, list[Any]]]:
        """Every record, in the order written, with where it is (its `ref`)."""
        ...

    def versions(self, refs: Sequence[int], sizes: Sequence[int]) -> list[bytes]:
        """The bytes of the versions at `refs` (each `sizes` long), in that order."""
        ...


class _InMemory:
    """Records handed over in memory (a reader sealing what a follower read): ref = index."""

    def __init__(self, records: Iterable[list[Any]]) -> None:
        self._records = records
        self.raws: list[bytes] = []

    def records(self) -> Iterator[tuple[int, list[Any]]]:
        for r in self._records:
            if r[0] == fmt.PUT_FULL:
                self.raws.append(r[5])
                yield len(self.raws) - 1, r
            else:
                yield -1, r

    def versions(self, refs: Sequence[int], sizes: Sequence[int]) -> list[bytes]:
        return [self.raws[r] for r in refs]


@dataclass(slots=True)
class _Version:
    t: int
    ref: int  # where its bytes are in the source; -1: a delete
    size: int
    h: int | None


class _Chain:
    """One object's versions in the segment, kept by the TemporalMap's rules."""

    __slots__ = ("start", "times", "versions")

    def __init__(self, start: Loc | None) -> None:
        self.start = start
        self.versions: list[_Version] = []
        self.times: list[int] = []

    def _in_force(self, i: int) -> tuple[bool, int | None]:
        if i >= 0:
            v = self.versions[i]
            return v.ref >= 0, v.h
        if self.start is None:
            return False, None
        return True, self.start[3]

    def write(self, t: int, ref: int, size: int, h: int | None) -> bool:
        """Apply a put (the version at `ref`, `size` bytes, hash `h`) or a delete (ref -1) at
        t; False when it changes nothing."""
        n = len(self.versions)
        i = n - 1 if not n or t > self.times[-1] else bisect_right(self.times, t) - 1
        alive, h_in_force = self._in_force(i)
        if ref < 0:
            if not alive:
                return False
        elif alive and h_in_force is not None and h == h_in_force:
            return False
        v = _Version(t, ref, size, h)
        if i >= 0 and self.times[i] == t:
            self.versions[i] = v
        else:
            self.versions.insert(i + 1, v)
            self.times.insert(i + 1, t)
        return True


@dataclass(slots=True)
class _Parsed:
    chains: dict[str, dict[Key, _Chain]]
    extras: list[list[Any]]
    logs: list[list[Any]]
    metrics: list[list[Any]]
    provenance: list[list[Any]]


def _parse(records: Iterable[tuple[int, list[Any]]], state: SealState) -> _Parsed:
    chains: dict[str, dict[Key, _Chain]] = {}
    extras: list[list[Any]] = []
    logs: list[list[Any]] = []
    metrics: list[list[Any]] = []
    provenance: list[list[Any]] = []
    for ref, r in records:
        kind = r[0]
        if kind == fmt.PUT_FULL or kind == fmt.DELETE:
            type_, k = r[2], (r[3], r[4])
            per = chains.get(type_)
            if per is None:
                per = chains[type_] = {}
            chain = per.get(k)
            if chain is None:
                chain = per[k] = _Chain(state.live.get(type_, {}).get(k))
            if kind == fmt.PUT_FULL:
                raw = r[5]
                chain.write(r[1], ref, len(raw), hash(raw))
            else:
                chain.write(r[1], -1, 0, None)
        elif kind in (fmt.LOG, fmt.LOG_NOTE):
            logs.append(r)
        elif kind == fmt.METRIC:
            metrics.append(r)
        elif kind in (fmt.PROVENANCE, fmt.RECONSTRUCTED):
            provenance.append(r)
        elif kind in (fmt.KF_BEGIN, fmt.KF_OBJECT, fmt.PUT_DELTA):
            continue  # never in a spool
        else:
            extras.append(r)
    for per in chains.values():
        for k in [k for k, c in per.items() if not c.versions]:
            del per[k]
    return _Parsed({t: p for t, p in chains.items() if p}, extras, logs, metrics, provenance)


def seal(
    records: Iterable[list[Any]],
    state: SealState,
    base: bool,
    fetch: Fetch,
    put_dict: Callable[[str, bytes], None],
    closed: int | None = None,
    train: bool = True,
    reach: int = 48,
) -> Sealed:
    """Build segment `state.next_seq` from a spool's records and advance `state` past it.

    Without `train` (a spool sealed in memory by a reader) no dictionary is trained and blocks
    are compressed fast: they are never stored."""
    return seal_spool(_InMemory(records), state, base, fetch, put_dict, closed, train, reach)


def seal_spool(
    source: VersionSource,
    state: SealState,
    base: bool,
    fetch: Fetch,
    put_dict: Callable[[str, bytes], None],
    closed: int | None = None,
    train: bool = True,
    reach: int = 48,
) -> Sealed:
    """`seal` the records of a spool file, reading it as it goes: the versions' bytes are read
    back a batch at a time, so its memory is bounded by SEAL_BATCH_RAW, not the spool's size.
    The segment is the one `seal` makes of the spool's readable records."""
    seq = state.next_seq
    parsed = _parse(source.records(), state)
    times = [v.t for per in parsed.chains.values() for c in per.values() for v in c.versions]
    floor = state.floor_t
    if times:
        first_t, last_t = min(times), max(times)
    else:
        first_t = last_t = floor if floor is not None else 0
    builder = sf.SegmentBuilder()
    types_doc: dict[str, dict[str, Any]] = {}
    base = base or state.last_base is None
    # references reach back at most `reach` segments: what is older is carried
    refs_floor = seq - reach
    state_bytes = 0
    refs_from = seq
    new_live: dict[str, dict[Key, Loc]] = {}
    type_names = sorted(set(parsed.chains) | (set(state.live) if base else set()))
    packs: list[_TypePack] = []
    unpacked: list[_TypePack] = []  # types whose blocks are not packed yet
    carried_bytes = 0
    for type_ in type_names:
        per = parsed.chains.get(type_, {})
        start_live = state.live.get(type_, {})
        carry: dict[Key, Loc] = {}
        if base:
            carry = {k: loc for k, loc in start_live.items() if loc[1] < refs_floor}
        carried_raw = _fetch_carried(type_, carry, fetch)
        tp = _TypePack(type_, sorted(set(per) | set(carry)), start_live)
        records_ = tp.records
        for k in tp.keys:
            if k in carry:
                tp.carried_rid[k] = len(records_)
                records_.add_carried(carried_raw[k])
                tp.carried_flags.append(1)
                loc = carry[k]
                tp.cvt.append(loc[0])
                tp.updates[k] = (loc[0], seq, tp.carried_rid[k], loc[3])
            else:
                tp.carried_flags.append(0)
            chain = per.get(k)
            if chain is None:
                tp.counts.append(0)
                continue
            tp.counts.append(len(chain.versions))
            alive = chain.start is not None
            last: Loc | None = None
            for v in chain.versions:
                tp.vtimes.append(v.t)
                if v.ref < 0:
                    tp.kinds.append(sf.DELETED)
                    alive = False
                    last = None
                else:
                    tp.kinds.append(sf.MODIFIED if alive else sf.ADDED)
                    alive = True
                    last = (v.t, seq, len(records_), v.h)
                    records_.add(v.ref, v.size, v.h)
            tp.updates[k] = last
        if tp.keys and train:
            tp.dictionary = _dictionary_for(type_, source, records_, state, put_dict)
        packs.append(tp)
        if tp.keys:
            unpacked.append(tp)
            carried_bytes += sum(len(raw) for raw in records_.carried.values())
        if carried_bytes > SEAL_BATCH_RAW:
            # a base's carried copies are in memory: pack them before fetching more
            _pack_blocks(source, unpacked, fast=not train)
            unpacked, carried_bytes = [], 0
    _pack_blocks(source, unpacked, fast=not train)
    for tp in packs:
        type_, keys, counts, vtimes = tp.name, tp.keys, tp.counts, tp.vtimes
        start_live = tp.start_live
        doc: dict[str, Any] = {}
        if keys:
            ix = sf.IndexParts(
                keys,
                counts,
                vtimes,
                bytes(tp.kinds),
                bytes(tp.carried_flags) if base else b"",
                tp.cvt,
                tp.records.lens,
                tp.blocks,
            )
            doc["index"] = builder.add(sf.pack_type_index(ix, first_t))
            doc["blocks"] = builder.add(tp.blob)
            doc["dict"] = tp.dictionary.name if tp.dictionary is not None else None
            doc["records"] = len(tp.records)
            tp.blob = b""
        if vtimes:
            ns_counts: dict[str, int] = {}
            pos = 0
            for k, n in zip(keys, counts, strict=True):
                if n:
                    ns_counts[k[0]] = ns_counts.get(k[0], 0) + n
                pos += n
            doc["changes"] = len(vtimes)
            doc["ns"] = ns_counts
            doc["hist"] = sf.histogram(vtimes, first_t, last_t)
            if len(vtimes) <= sf.EXACT_TIMES:
                # few changes: their times, so the timeline never shows a change where
                # there is none (a histogram spreads a bucket's count over it)
                doc["times"] = sf.pack_times(sorted(vtimes), first_t)
        if base and start_live:
            back, rid = array("I"), array("I")
            for k, loc in start_live.items():
                if k in tp.carried_rid:
                    back.append(0)
                    rid.append(tp.carried_rid[k])
                else:
                    back.append(seq - loc[1])
                    rid.append(loc[2])
                    refs_from = min(refs_from, loc[1])
            blob = sf.pack_type_state(sf.TypeState(back, rid))
            doc["state"] = builder.add(blob)
            doc["live"] = len(start_live)
            doc["live_ns"] = sorted({ns for ns, _ in start_live})
            state_bytes += len(blob)
        if doc:
            types_doc[type_] = doc
        merged = dict(start_live)
        for k, loc in tp.updates.items():
            if loc is None:
                merged.pop(k, None)
            else:
                merged[k] = loc
        if merged:
            new_live[type_] = merged
    for type_, live in state.live.items():
        if type_ not in new_live and type_ not in parsed.chains and live:
            new_live[type_] = live
    extras = _extras_records(parsed.extras, state, base)
    logs_ref = _series_section(builder, parsed.logs)
    metrics_ref = _series_section(builder, parsed.metrics)
    provenance_ref = _series_section(builder, parsed.provenance)
    changed = [
        ObjectKey(type_, ns, name) for type_, per in parsed.chains.items() for ns, name in per
    ]
    flt = keyfilter.build(changed)
    filter_ref = builder.add(flt)
    footer: dict[str, Any] = {
        "seq": seq,
        "first_t": first_t,
        "last_t": last_t,
        "changes": len(times),
        "base": base,
        "base_seq": seq if base else state.last_base,
        "refs_from": refs_from if base else None,
        "types": types_doc,
        "extras": extras,
        "logs": logs_ref,
        "metrics": metrics_ref,
        "provenance": provenance_ref,
        "filter": filter_ref,
        "closed": closed,
    }
    data = builder.finish(footer)
    name = layout.segment_name(seq, first_t, last_t, base)
    # advance the state only now: a failure above leaves it as it was
    state.live = new_live
    state.next_seq = seq + 1
    state.floor_t = last_t if times or floor is None else floor
    for r in parsed.extras:
        state.extras.apply(r, series=False)
    if base:
        state.last_base = seq
        state.base_bytes = max(state_bytes, 1)
        state.since_base_bytes = 0
        state.segments_since_base = 0
    else:
        state.since_base_bytes += len(data)
        state.segments_since_base += 1
    return Sealed(name, data, footer, flt)


def _fetch_carried(type_: str, carry: dict[Key, Loc], fetch: Fetch) -> dict[Key, bytes]:
    by_seq: dict[int, list[tuple[Key, int]]] = {}
    for k, loc in carry.items():
        by_seq.setdefault(loc[1], []).append((k, loc[2]))
    out: dict[Key, bytes] = {}
    for seq, wanted in sorted(by_seq.items()):
        raws = fetch(seq, type_, [rid for _, rid in wanted])
        for (k, _), raw in zip(wanted, raws, strict=True):
            out[k] = raw
    return out


class _TypeRecords:
    """A type's records in pack order: where each one's bytes are, read back when packed."""

    __slots__ = ("carried", "hashes", "lens", "refs")

    def __init__(self) -> None:
        self.refs: list[int] = []  # where in the source; -1: a carried copy (in `carried`)
        self.lens = array("I")
        self.hashes: list[int | None] = []
        self.carried: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self.refs)

    def add(self, ref: int, size: int, h: int | None) -> None:
        """Append a version of the source."""
        self.refs.append(ref)
        self.lens.append(size)
        self.hashes.append(h)

    def add_carried(self, raw: bytes) -> None:
        """Append a version carried from an older segment (its bytes, in memory)."""
        self.carried[len(self.refs)] = raw
        self.add(-1, len(raw), None)


@dataclass(slots=True)
class _TypePack:
    """One type's part of the segment being sealed: its objects and versions, then blocks."""

    name: str
    keys: list[Key]
    start_live: dict[Key, Loc]
    records: _TypeRecords = field(default_factory=_TypeRecords)
    counts: array[int] = field(default_factory=lambda: array("I"))
    vtimes: array[int] = field(default_factory=lambda: array("q"))
    kinds: bytearray = field(default_factory=bytearray)
    carried_flags: bytearray = field(default_factory=bytearray)
    cvt: array[int] = field(default_factory=lambda: array("q"))
    updates: dict[Key, Loc | None] = field(default_factory=dict)
    carried_rid: dict[Key, int] = field(default_factory=dict)
    dictionary: Dictionary | None = None
    blob: bytes = b""
    blocks: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def _read(
    source: VersionSource, wanted: list[tuple[_TypeRecords, Sequence[int]]]
) -> list[list[bytes]]:
    """The bytes of the records at the positions wanted, per type, in one read of the source;
    each checked against what was parsed."""
    out: list[list[bytes]] = []
    parts: list[tuple[list[bytes], list[int], list[int], list[int | None]]] = []
    refs: list[int] = []
    sizes: list[int] = []
    for records, positions in wanted:
        got = [b""] * len(positions)
        out.append(got)
        at = list(range(len(positions)))
        if isinstance(positions, range) and positions.step == 1:
            span = slice(positions.start, positions.stop)
            part_refs, part_sizes = records.refs[span], list(records.lens[span])
            part_hashes = records.hashes[span]
        else:
            part_refs = [records.refs[p] for p in positions]
            part_sizes = [records.lens[p] for p in positions]
            part_hashes = [records.hashes[p] for p in positions]
        if records.carried:
            for j, p in enumerate(positions):
                if part_refs[j] < 0:
                    got[j] = records.carried[p]
            at = [j for j in at if part_refs[j] >= 0]
            part_refs = [part_refs[j] for j in at]
            part_sizes = [part_sizes[j] for j in at]
            part_hashes = [part_hashes[j] for j in at]
        parts.append((got, at, part_sizes, part_hashes))
        refs += part_refs
        sizes += part_sizes
    if not refs:
        return out
    raws = source.versions(refs, sizes)
    k = 0
    for got, at, part_sizes, part_hashes in parts:
        for j, size, h in zip(at, part_sizes, part_hashes, strict=True):
            raw = raws[k]
            k += 1
            # the bytes sealed are the ones parsed (their hash decided what is a change)
            if len(raw) != size or hash(raw) != h:
                raise SpoolChanged("a version read back differs from the one read before")
            got[j] = raw
    return out


def _dictionary_for(
    type_: str,
    source: VersionSource,
    records: _TypeRecords,
    state: SealState,
    put_dict: Callable[[str, bytes], None],
) -> Dictionary | None:
    found = state.dicts.get(type_)
    if found is not None or len(records) < DICT_MIN_SAMPLES:
        return found
    step = max(1, len(records) // DICT_MAX_SAMPLES)
    picked: list[int] = []
    size = 0
    for p in range(0, len(records), step)[:DICT_MAX_SAMPLES]:
        size += records.lens[p]
        if size > DICT_MAX_SAMPLE_BYTES and picked:
            break
        picked.append(p)
    samples = _read(source, [(records, picked)])[0]
    try:
        trained = zstd.train_dictionary(DICT_SIZE, samples, level=3)
    except zstd.ZstdError:
        return None  # too few distinct samples: blocks go without a dictionary for now
    data = trained.as_bytes()
    name = layout.dict_name(hashlib.sha256(data).hexdigest()[:32])
    put_dict(name, data)
    found = state.dicts[type_] = Dictionary(name, zstd.ZstdCompressionDict(data))
    return found


def _cuts(lens: Sequence[int]) -> list[tuple[int, int, int]]:
    """Records cut into ~BLOCK_RAW blocks (no small block at the end): (first, end, raw bytes)."""
    cuts: list[tuple[int, int, int]] = []
    start = 0
    size = 0
    left = sum(lens)
    for i, n in enumerate(lens):
        size += n
        left -= n
        if size >= BLOCK_RAW and left >= BLOCK_RAW // 2:
            cuts.append((start, i + 1, size))
            start, size = i + 1, 0
    if start < len(lens):
        cuts.append((start, len(lens), size))
    return cuts


def _pack_blocks(source: VersionSource, packs: list[_TypePack], fast: bool = False) -> None:
    """Each type's records in ~BLOCK_RAW blocks, each one zstd frame (`blob`, `blocks`). The
    records are read SEAL_BATCH_RAW at a time, types after one another: a spool's versions of
    all types are spread over all of it, so a batch costs one pass over it, whatever the types."""
    work = [(tp, start, end, size) for tp in packs for start, end, size in _cuts(tp.records.lens)]
    # a bytearray, not a list of frames: zstd's output buffer is allocated for the bound (the
    # raw size) and stays that big while its bytes object lives
    out = bytearray()
    current: _TypePack | None = None
    compressor: zstd.ZstdCompressor | None = None
    i = 0
    while i < len(work):
        j = i + 1  # a batch: whole blocks, at least one
        size = work[i][3]
        while j < len(work) and size + work[j][3] <= SEAL_BATCH_RAW:
            size += work[j][3]
            j += 1
        batch = work[i:j]
        spans: dict[int, tuple[_TypeRecords, range]] = {}
        for tp, start, end, _size in batch:
            got = spans.get(id(tp))
            first = got[1].start if got is not None else start
            spans[id(tp)] = (tp.records, range(first, end))
        raws = dict(zip(spans, _read(source, list(spans.values())), strict=True))
        for tp, start, end, _size in batch:
            if tp is not current:
                if current is not None:
                    current.blob, out = bytes(out), bytearray()
                current, compressor = tp, _compressor(tp.dictionary, fast)
            assert compressor is not None
            first = spans[id(tp)][1].start
            raw = b"".join(raws[id(tp)][start - first : end - first])
            blob = compressor.compress(raw)
            tp.blocks.append((start, len(out), len(blob), len(raw), zlib.crc32(blob)))
            out += blob
        del raws
        i = j
    if current is not None:
        current.blob = bytes(out)
    for tp in packs:
        tp.records.carried.clear()


def _compressor(dictionary: Dictionary | None, fast: bool) -> zstd.ZstdCompressor:
    if fast:
        return zstd.ZstdCompressor(level=1, write_content_size=True)
    return zstd.ZstdCompressor(
        compression_params=_BLOCK_PARAMS,
        dict_data=dictionary.data if dictionary is not None else None,
    )


def _extras_records(records: list[list[Any]], state: SealState, base: bool) -> list[list[Any]]:
    """The segment's own extras; a base first repeats what is in force (types, watch status,
    live bookmarks, identity, recent gaps), so a reader starting there misses none of it."""
    if not base:
        return records
    ex = state.extras
    out: list[list[Any]] = [[fmt.KF_BEGIN, state.floor_t or 0, 0, 0, ex.max_bookmark_id]]
    if ex.types:
        from khronoscope.recording import records as rec

        out.append([fmt.TYPES, ex.types_t, [rec.type_to_list(t) for t in ex.types.values()]])
    for name, s in sorted(ex.status.items()):
        out.append([fmt.STATUS, s.since, name, s.state.value, s.error, s.objects, s.changes])
    for bid, b in sorted(ex.bookmarks.items()):
        key = [b.key.type, b.key.namespace, b.key.name] if b.key is not None else None
        out.append([fmt.BOOKMARK, b.t, bid, b.label, key, ex.bookmark_created.get(bid, b.t)])
    if ex.info:
        out.append([fmt.INFO, state.floor_t or 0, dict(ex.info)])
    for g in ex.gap_list():
        out.append([fmt.GAP, g.start, g.end, g.type, g.reason])
    return out + records


def _series_section(builder: sf.SegmentBuilder, records: list[list[Any]]) -> dict[str, Any] | None:
    if not records:
        return None
    times = [r[1] for r in records]
    ref = builder.add(sf.compress(sf.pack_obj(records)))
    return {"ref": ref, "first_t": min(times), "last_t": max(times), "count": len(records)}
