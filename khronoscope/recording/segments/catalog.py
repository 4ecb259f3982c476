"""Reading a format-2 recording: its header, the index of its segments, and their sections.

Opening lists the store once: segment names give every segment's time range; footers (what is
in each segment, per type) come from the write-once roll-up index objects and, for the newest
segments, one ranged read each at their end. The open segment's spool files (a local recording,
or a crash left them) are read through the format-1 reader and sealed in memory, so everything
above sees only segments. Sections and version records are read by byte range when asked for;
decompressed blocks live in a cache with a byte budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard as zstd

from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording.segments import layout
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.lru import ByteLRU
from khronoscope.storage import BlobNotFound, BlobStore

HEADER_MAX = 1024 * 1024


class NotASegmentedRecording(KhronoscopeError):
    """The store holds no format-2 recording (or one this version cannot read)."""


@dataclass(frozen=True, slots=True)
class Damage:
    """A part of a recording that could not be read, and what it held."""

    where: str  # object name (and section)
    what: str
    first_t: int | None = None
    last_t: int | None = None
    versions: int | None = None
    objects: int | None = None
    type: str | None = None
    start: int = 0  # bytes of the object concerned
    end: int = 0
    keys: frozenset[ObjectKey] = frozenset()  # the objects whose versions are lost

    def describe(self) -> str:
        """One line for the user."""
        lost = ""
        if self.versions is not None:
            of = f" of {self.type}" if self.type else ""
            lost = f"; {self.versions} versions{of} cannot be read"
            if self.objects is not None:
                lost += f" ({self.objects} objects)"
        if self.first_t is not None and self.last_t is not None:
            lost += f" from {format_iso(self.first_t)} to {format_iso(self.last_t)}"
        return f"{self.where}: {self.what}{lost}"


@dataclass(slots=True)
class SegmentInfo:
    """One segment as the index knows it (a sealed object, or a spool sealed in memory)."""

    seq: int
    name: str
    size: int
    footer: dict[str, Any]
    data: bytes | None = None  # the bytes of a spool sealed in memory
    spool: bool = False

    @property
    def first_t(self) -> int:
        """Time of its first change (its last_t when it has none)."""
        return int(self.footer["first_t"])

    @property
    def last_t(self) -> int:
        """Time of its last change."""
        return int(self.footer["last_t"])

    @property
    def changes(self) -> int:
        """Changes in the segment."""
        return int(self.footer.get("changes") or 0)

    @property
    def base(self) -> bool:
        """True when it describes the state at its start."""
        return bool(self.footer.get("base"))

    @property
    def base_seq(self) -> int:
        """The base its start state derives from (itself for a base)."""
        return int(self.footer["base_seq"])

    @property
    def refs_from(self) -> int:
        """A base: the oldest segment its start state refers to."""
        value = self.footer.get("refs_from")
        return int(value) if value is not None else self.seq

    @property
    def types(self) -> dict[str, dict[str, Any]]:
        """Per type: change count, namespaces, histogram, section references."""
        return self.footer.get("types") or {}


@dataclass(slots=True)
class Header:
    """The recording's write-once header object."""

    map: dict[str, Any]

    @property
    def start(self) -> int | None:
        """When the recording started."""
        value = self.map.get("start")
        return int(value) if isinstance(value, int) else None


def read_header(store: BlobStore) -> Header:
    """The header object; NotASegmentedRecording when absent or damaged."""
    try:
        data = store.get_range(layout.HEADER, 0, HEADER_MAX)
    except BlobNotFound:
        raise NotASegmentedRecording(f"{store.url}: not a khronoscope recording") from None
    try:
        version, header, _ = _unpack_header(data)
    except fmt.FormatError:
        raise NotASegmentedRecording(f"{store.url}: not a khronoscope recording") from None
    if version > sf.FORMAT:
        raise NotASegmentedRecording(
            f"{store.url} is a recording of format {version}, made by a newer khronoscope; "
            f"this one reads format {sf.FORMAT}: upgrade khronoscope"
        )
    if header is None:
        raise NotASegmentedRecording(f"{store.url}: the recording's header is damaged")
    return Header(header)


def _unpack_header(buf: bytes) -> tuple[int, dict[str, Any] | None, int]:
    # the format-1 file header layout, with version 2
    import struct
    import zlib

    import msgpack

    if len(buf) < 14 or buf[:8] != fmt.FILE_MAGIC:
        raise fmt.FormatError("not a khronoscope recording")
    version, length = struct.unpack_from("<HI", buf, 8)
    end = 14 + length
    if version != sf.FORMAT or len(buf) < end + 4:
        return version, None, end + 4
    (crc,) = struct.unpack_from("<I", buf, end)
    if zlib.crc32(buf[:end]) != crc:
        return version, None, end + 4
    try:
        header = msgpack.unpackb(buf[14:end], raw=False)
    except (ValueError, msgpack.UnpackException):
        return version, None, end + 4
    return version, header if isinstance(header, dict) else None, end + 4


def pack_header(header: dict[str, Any]) -> bytes:
    """The header object's bytes: the format-1 file header layout with version 2."""
    import struct
    import zlib

    import msgpack

    body = msgpack.packb(header, use_bin_type=True)
    head = fmt.FILE_MAGIC + struct.pack("<HI", sf.FORMAT, len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


class BlockCache:
    """Decompressed blocks by (segment seq, type, block index), least recently used dropped
    first once `budget` bytes are held. Thread-safe (the app reads in worker threads)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.bytes = 0
        self._blocks: OrderedDict[tuple[int, str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str, int]) -> bytes | None:
        """A cached block, or None."""
        with self._lock:
            raw = self._blocks.get(key)
            if raw is not None:
                self._blocks.move_to_end(key)
            return raw

    def put(self, key: tuple[int, str, int], raw: bytes) -> None:
        """Keep a block (dropping the oldest beyond the budget)."""
        with self._lock:
            if key in self._blocks:
                return
            self._blocks[key] = raw
            self.bytes += len(raw)
            while self.bytes > self.budget and len(self._blocks) > 1:
                _, old = self._blocks.popitem(last=False)
                self.bytes -= len(old)

    def drop_segment(self, seq: int) -> None:
        """Forget the blocks of one segment (it was replaced or deleted)."""
        with self._lock:
            for k in [k for k in self._blocks if k[0] == seq]:
                self.bytes -= len(self._blocks.pop(k))


def index_weight(ix: sf.TypeIndex) -> int:
    """Rough bytes a decoded index section holds (names, arrays, keys once built)."""
    return 180 * len(ix) + 14 * len(ix.kinds) + 4 * len(ix.lens) + 1024


def state_weight(st: sf.TypeState) -> int:
    """Rough bytes a decoded state section holds."""
    return 8 * len(st.rid) + 256


class SegmentedRecording:
    """Read access to one format-2 recording (which may still be written)."""

    def __init__(
        self,
        store: BlobStore,
        wal_dir: Path | None = None,
        cache_bytes: int = 128 * 1024 * 1024,
        index_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.wal_dir = wal_dir
        self.header = read_header(store)
        self.segments: list[SegmentInfo] = []
        self.damage: list[Damage] = []
        self._damage_seen: set[tuple[str, str]] = set()
        self.blocks = BlockCache(cache_bytes)
        # decoded index and state sections, within their own byte budget
        self._indexes: ByteLRU[tuple[int, str], sf.TypeIndex] = ByteLRU(index_bytes, index_weight)
        self._states: ByteLRU[tuple[int, str], sf.TypeState] = ByteLRU(
            max(index_bytes // 8, 1 << 20), state_weight
        )
        self._dicts: dict[str, zstd.ZstdDecompressor] = {}
        self._lock = threading.RLock()
        self._by_seq: dict[int, SegmentInfo] = {}
        self.generation = 0  # bumped when segments are replaced (a spool sealed, retention)
        self.spool_stamp: tuple[tuple[int, int], ...] = ()
        self.spool_follower: Any = None  # spools.SpoolFollower: what was read of the spools
        self.refresh()

    # --- the index ----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Pick up segments sealed (and spools grown) since; True when anything changed."""
        with self._lock:
            names = {b.name: b for b in self.store.list(layout.SEGMENTS)}
            parsed = {}
            for name, blob in names.items():
                p = layout.parse_segment(name)
                if p is not None:
                    parsed[p.seq] = (p, blob.size)
            sealed_before = {s.seq: s for s in self.segments if not s.spool}
            changed = False
            gone = [seq for seq in sealed_before if seq not in parsed]
            if gone:
                changed = True
            rollups: dict[int, tuple[bytes, int]] = {}
            new = [seq for seq in parsed if seq not in sealed_before]
            if len(new) > 4:
                rollups = self._read_rollups(set(new))
            keep: list[SegmentInfo] = [
                sealed_before[s] for s in sorted(sealed_before) if s in parsed
            ]
            for seq in sorted(new):
                p, size = parsed[seq]
                footer = self._footer(p.name, size, rollups.get(seq))
                if footer is None:
                    continue
                keep.append(SegmentInfo(seq, p.name, size, footer))
                changed = True
            keep.sort(key=lambda s: s.seq)
            spools = [s for s in self.segments if s.spool and s.seq not in parsed]
            if len(spools) != sum(1 for s in self.segments if s.spool):
                changed = True  # a spool was sealed: its segment replaces it
                self.spool_stamp = ()
            self.segments = keep + spools
            if changed or gone:
                self._reindex()
            return changed

    def add_sealed(self, name: str, data: bytes) -> None:
        """Know a segment its writer has just sealed (`data`: its bytes) without listing the
        store: the writer keeps its reader's catalog up to date, seal after seal."""
        p = layout.parse_segment(name)
        if p is None:
            raise ValueError(f"not a segment name: {name}")
        footer, need = sf.parse_tail(data[-sf.TAIL_READ :], len(data))
        if footer is None:
            footer, _ = sf.parse_tail(data[-need:], len(data))
        assert footer is not None
        with self._lock:
            if p.seq in self._by_seq:
                return
            self.segments.append(SegmentInfo(p.seq, name, len(data), footer))
            self.segments.sort(key=lambda s: (s.spool, s.seq))
            self._reindex()

    def forget(self, names: Iterable[str]) -> None:
        """Drop segments its writer has deleted (retention), without listing the store."""
        gone = set(names)
        with self._lock:
            for s in self.segments:
                if s.name in gone:
                    self.blocks.drop_segment(s.seq)
                    self._forget_sections(s.seq)
            self.segments = [s for s in self.segments if s.name not in gone]
            self._reindex()

    def _reindex(self) -> None:
        self._by_seq = {s.seq: s for s in self.segments}
        self.generation += 1

    def set_spools(self, spools: list[SegmentInfo], stamp: tuple[tuple[int, int], ...]) -> None:
        """Replace the spool segments (sealed in memory by the caller, newest last); `stamp`
        says which files at which sizes they were made from."""
        with self._lock:
            self.spool_stamp = stamp
            for s in self.segments:
                if s.spool:
                    self.blocks.drop_segment(s.seq)
                    self._forget_sections(s.seq)
            self.segments = [s for s in self.segments if not s.spool] + spools
            self._reindex()

    def _forget_sections(self, seq: int) -> None:
        self._indexes.drop(lambda k: k[0] != seq)
        self._states.drop(lambda k: k[0] != seq)

    def _read_rollups(self, wanted: set[int]) -> dict[int, tuple[bytes, int]]:
        out: dict[int, tuple[bytes, int]] = {}
        for blob in self.store.list(layout.ROLLUPS):
            span = layout.parse_rollup(blob.name)
            if span is None or not any(span[0] <= s <= span[1] for s in wanted):
                continue
            try:
                doc = sf.unpack_obj(sf.decompress(self.store.get(blob.name)))
                for seq, tail, size in doc:
                    out[int(seq)] = (bytes(tail), int(size))
            except (BlobNotFound, sf.SegmentDamaged, ValueError, TypeError):
                continue  # the segments' own footers are read instead
        return out

    def _footer(
        self, name: str, size: int, from_rollup: tuple[bytes, int] | None
    ) -> dict[str, Any] | None:
        try:
            if from_rollup is not None and from_rollup[1] == size:
                footer, need = sf.parse_tail(from_rollup[0], size)
                if footer is not None:
                    return footer
            tail = self.store.get_range(name, max(0, size - sf.TAIL_READ), sf.TAIL_READ)
            footer, need = sf.parse_tail(tail, size)
            if footer is None:
                tail = self.store.get_range(name, size - need, need)
                footer, _ = sf.parse_tail(tail, size)
            assert footer is not None
            return footer
        except BlobNotFound:
            return None  # deleted by retention meanwhile
        except sf.SegmentDamaged as err:
            p = layout.parse_segment(name)
            self.report(
                Damage(
                    name,
                    f"segment unreadable ({err})",
                    p.first_t if p else None,
                    p.last_t if p else None,
                )
            )
            return None

    def report(self, damage: Damage) -> None:
        """Add a damage report (once per place and kind; the prefetcher reads in a thread)."""
        key = (damage.where, damage.what)
        with self._lock:
            if key not in self._damage_seen:
                self._damage_seen.add(key)
                self.damage.append(damage)

    def segment(self, seq: int) -> SegmentInfo | None:
        """The segment with sequence number `seq` (None if gone or unreadable)."""
        return self._by_seq.get(seq)

    # --- sections -----------------------------------------------------------------------------

    def _read(self, seg: SegmentInfo, ref: list[int] | tuple[int, ...]) -> bytes:
        offset, length, crc = int(ref[0]), int(ref[1]), int(ref[2])
        if seg.data is not None:
            data = seg.data[offset : offset + length]
        else:
            data = self.store.get_range(seg.name, offset, length)
        return sf.check_section(data, (offset, length, crc))

    def section(self, seg: SegmentInfo, ref: Any) -> bytes:
        """A section's verified bytes (SegmentDamaged or BlobNotFound otherwise)."""
        return self._read(seg, ref)

    def type_index(self, seq: int, type_: str) -> sf.TypeIndex | None:
        """The `index` section of a type in a segment (None when it has no versions there or
        the section is damaged: reported)."""
        key = (seq, type_)
        found = self._indexes.get(key)
        if found is not None:
            return found
        seg = self.segment(seq)
        doc = seg.types.get(type_) if seg is not None else None
        if seg is None or doc is None or "index" not in doc:
            return None
        try:
            ix = sf.unpack_type_index(self._read(seg, doc["index"]), seg.first_t)
        except sf.SegmentDamaged as err:
            self._lost_type(seg, type_, f"index of {type_} unreadable ({err})")
            return None
        self._indexes.put(key, ix)
        return ix

    def type_state(self, seq: int, type_: str) -> sf.TypeState | None:
        """The `state` section of a type in a base (None: no live object of the type then,
        or damaged: reported)."""
        key = (seq, type_)
        found = self._states.get(key)
        if found is not None:
            return found
        seg = self.segment(seq)
        doc = seg.types.get(type_) if seg is not None else None
        if seg is None or doc is None or "state" not in doc:
            return None
        try:
            st = sf.unpack_type_state(self._read(seg, doc["state"]))
        except sf.SegmentDamaged as err:
            self._lost_type(seg, type_, f"start state of {type_} unreadable ({err})")
            return None
        self._states.put(key, st)
        return st

    def _lost_type(self, seg: SegmentInfo, type_: str, what: str) -> None:
        doc = seg.types.get(type_) or {}
        ref = doc.get("index") or doc.get("state") or (0, 0, 0)
        self.report(
            Damage(
                seg.name,
                what,
                seg.first_t,
                seg.last_t,
                versions=int(doc.get("changes") or 0),
                type=type_,
                start=int(ref[0]),
                end=int(ref[0]) + int(ref[1]),
            )
        )

    def decompressor(self, seg: SegmentInfo, type_: str) -> zstd.ZstdDecompressor:
        """The decompressor of a type's blocks in a segment (with its shared dictionary)."""
        name = (seg.types.get(type_) or {}).get("dict")
        if not name:
            return zstd.ZstdDecompressor()
        found = self._dicts.get(name)
        if found is None:
            data = self.store.get(name)
            found = zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(data))
            self._dicts[name] = found
        return found

    def block(self, seq: int, type_: str, b: int) -> bytes | None:
        """Block b of a type in a segment, decompressed (cached); None when damaged."""
        key = (seq, type_, b)
        raw = self.blocks.get(key)
        if raw is not None:
            return raw
        seg = self.segment(seq)
        ix = self.type_index(seq, type_)
        if seg is None or ix is None or b >= len(ix.blocks):
            return None
        first_rid, offset, length, raw_len, crc = ix.blocks[b]
        doc = seg.types[type_]
        sec_off = int(doc["blocks"][0])
        try:
            blob = self._read(seg, (sec_off + offset, length, crc))
            raw = self.decompressor(seg, type_).decompress(blob, max_output_size=raw_len)
            if len(raw) != raw_len:
                raise sf.SegmentDamaged("block size differs from the index")
        except (sf.SegmentDamaged, zstd.ZstdError) as err:
            end = ix.blocks[b + 1][0] if b + 1 < len(ix.blocks) else len(ix.lens)
            owners = ix.owners(list(range(first_rid, end)))
            keys = frozenset(ObjectKey(type_, *ix.keys[j]) for j, _ in owners)
            times = [vt for _, vt in owners]
            self.report(
                Damage(
                    f"{seg.name} block {b} of {type_}",
                    f"block unreadable ({err})",
                    min(times, default=seg.first_t),
                    max(times, default=seg.last_t),
                    versions=end - first_rid,
                    objects=len(keys),
                    type=type_,
                    start=sec_off + offset,
                    end=sec_off + offset + length,
                    keys=keys,
                )
            )
            return None
        self.blocks.put(key, raw)
        return raw

    def records(self, seq: int, type_: str, rids: list[int]) -> list[bytes | None]:
        """The bytes of records `rids` of a type in a segment (None where unreadable); each
        block is decompressed once whatever the order asked."""
        ix = self.type_index(seq, type_)
        if ix is None:
            return [None] * len(rids)
        out: list[bytes | None] = [None] * len(rids)
        for i in sorted(range(len(rids)), key=lambda i: rids[i]):
            rid = rids[i]
            if rid < 0 or rid >= len(ix.lens):
                continue
            b, start, end = ix.locate(rid)
            raw = self.block(seq, type_, b)
            if raw is not None:
                out[i] = raw[start:end]
        return out

    def filter(self, seg: SegmentInfo) -> bytes | None:
        """The segment's key filter (None when damaged)."""
        ref = seg.footer.get("filter")
        if ref is None:
            return None
        try:
            return self._read(seg, ref)
        except (sf.SegmentDamaged, BlobNotFound):
            return None

    def series(self, seg: SegmentInfo, which: str) -> list[list[Any]]:
        """The log (`logs`) or metrics (`metrics`) records of a segment ([] when damaged)."""
        doc = seg.footer.get(which)
        if not doc:
            return []
        try:
            records = sf.unpack_obj(sf.decompress(self._read(seg, doc["ref"])))
        except (sf.SegmentDamaged, BlobNotFound, ValueError) as err:
            self.report(
                Damage(
                    seg.name,
                    f"{which} unreadable ({err})",
                    doc.get("first_t"),
                    doc.get("last_t"),
                )
            )
            return []
        return records if isinstance(records, list) else []

    # --- spools -------------------------------------------------------------------------------

    def spool_files(self) -> list[tuple[int, Path]]:
        """Spool files of open segments not sealed yet, oldest first."""
        if self.wal_dir is None or not self.wal_dir.is_dir():
            return []
        sealed = {s.seq for s in self.segments if not s.spool}
        out = []
        for p in self.wal_dir.iterdir():
            seq = layout.parse_wal(p.name)
            if seq is not None and seq not in sealed:
                out.append((seq, p))
        return sorted(out)
