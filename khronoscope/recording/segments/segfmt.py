"""The bytes of a sealed segment: sections, a footer that says where they are, a trailer.

```
magic (8)  section*  footer (zstd msgpack map)  trailer (16: footer length, footer CRC,
                                                        format, reserved, magic)
```
Each section is read on its own by byte range and has its own CRC-32 in the footer, so damage
costs only the section it hits. Per resource type there are up to three sections: `index` (its
objects and their versions in the segment), `blocks` (the versions' bytes, packed chain by
chain into zstd blocks with the type's dictionary) and, in a base segment, `state` (every object
of the type alive at the segment's start, as a reference to where its version lives). Logs and
metrics have sections of their own (opening an object never reads them); a key filter says
which objects changed in the segment. See docs/recording-format.md for every field.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import msgpack
import zstandard as zstd

from khronoscope.core.types import ChangeKind

SEGMENT_MAGIC = b"\x89KHSEG\n\x00"
FORMAT = 2
TRAILER_MAGIC = b"KHSF"
# footer length u32, footer CRC-32 u32, format u16, reserved u16, magic
_TRAILER = struct.Struct("<IIHH4s")
TRAILER_SIZE = _TRAILER.size
TAIL_READ = 64 * 1024  # one ranged read at the end gets the footer of nearly every segment
HIST_BUCKETS = 64  # per type, changes per 1/64 of the segment's time range (timeline strip)
EXACT_TIMES = 256  # up to this many changes of a type, the footer has their times
MAX_SECTION = 512 * 1024 * 1024  # a footer claiming more is damaged

ADDED = int(ChangeKind.ADDED)
MODIFIED = int(ChangeKind.MODIFIED)
DELETED = int(ChangeKind.DELETED)
# kind byte -> 1 for a put (a version with a record), 0 for a delete
_PUT_OF_KIND = bytes(0 if k == int(ChangeKind.DELETED) else 1 for k in range(256))

_SECTION_LEVEL = 6
# an index section is written once and read often: level 19 makes its key names a third
# smaller than level 6 (bench/longhistory.py's stream)
_INDEX_LEVEL = 19
_cctx = zstd.ZstdCompressor(level=_SECTION_LEVEL)
_index_cctx = zstd.ZstdCompressor(level=_INDEX_LEVEL)
_packer = msgpack.Packer(use_bin_type=True)


class SegmentDamaged(Exception):
    """A segment's bytes are not what its footer says (a section or the footer itself)."""


Ref = tuple[int, int, int]  # (offset, length, crc32) of a section within the segment


def pack_obj(value: Any) -> bytes:
    """msgpack bytes of a value (sections, records)."""
    return _packer.pack(value)


def unpack_obj(raw: bytes) -> Any:
    """Decode `pack_obj` bytes."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def compress(raw: bytes, index: bool = False) -> bytes:
    """A section's bytes: one zstd frame (content size declared: bounds decompression)."""
    return (_index_cctx if index else _cctx).compress(raw)


def shuffle(raw: bytes, width: int) -> bytes:
    """The bytes of an array of `width`-byte items, grouped by byte position (all first bytes,
    then all second bytes...): times compress ~15% better this way."""
    return b"".join(raw[i::width] for i in range(width))


def unshuffle(raw: bytes, width: int) -> bytes:
    """Undo `shuffle`."""
    if len(raw) % width:
        raise ValueError("shuffled array has a partial item")
    n = len(raw) // width
    out = bytearray(len(raw))
    for i in range(width):
        out[i::width] = raw[i * n : (i + 1) * n]
    return bytes(out)


def decompress(blob: bytes, limit: int = MAX_SECTION) -> bytes:
    """Undo `compress`, refusing frames that claim (or inflate to) more than `limit`."""
    try:
        params = zstd.get_frame_parameters(blob)
    except zstd.ZstdError as err:
        raise SegmentDamaged(f"not a zstd frame ({err})") from None
    size = params.content_size
    if size == zstd.CONTENTSIZE_UNKNOWN or size > limit:
        raise SegmentDamaged("section size undeclared or too large")
    try:
        return zstd.ZstdDecompressor().decompress(blob, max_output_size=size)
    except zstd.ZstdError as err:
        raise SegmentDamaged(f"section does not decompress ({err})") from None


class SegmentBuilder:
    """Appends sections after the magic and finishes with the footer and trailer."""

    def __init__(self) -> None:
        self._parts: list[bytes] = [SEGMENT_MAGIC]
        self._size = len(SEGMENT_MAGIC)

    def add(self, data: bytes) -> Ref:
        """Append one section; returns where it is."""
        ref = (self._size, len(data), zlib.crc32(data))
        self._parts.append(data)
        self._size += len(data)
        return ref

    def finish(self, footer: dict[str, Any]) -> bytes:
        """The whole segment: sections, compressed footer, trailer."""
        body = compress(pack_obj(footer))
        trailer = _TRAILER.pack(len(body), zlib.crc32(body), FORMAT, 0, TRAILER_MAGIC)
        return b"".join([*self._parts, body, trailer])


def parse_tail(tail: bytes, size: int) -> tuple[dict[str, Any] | None, int]:
    """The footer from the last bytes of a segment of `size` bytes: (footer, 0), or (None, n)
    when the footer needs the last n bytes and `tail` is shorter. SegmentDamaged otherwise."""
    if len(tail) < TRAILER_SIZE or size < len(SEGMENT_MAGIC) + TRAILER_SIZE:
        raise SegmentDamaged("too short to be a segment")
    flen, fcrc, version, _, magic = _TRAILER.unpack(tail[-TRAILER_SIZE:])
    if magic != TRAILER_MAGIC:
        raise SegmentDamaged("no segment trailer (damaged or torn)")
    if version > FORMAT:
        raise SegmentDamaged(f"segment of format {version}, made by a newer khronoscope")
    need = flen + TRAILER_SIZE
    if need > size - len(SEGMENT_MAGIC):
        raise SegmentDamaged("footer length out of range")
    if need > len(tail):
        return None, need
    body = tail[-need:-TRAILER_SIZE]
    if zlib.crc32(body) != fcrc:
        raise SegmentDamaged("footer checksum mismatch")
    try:
        footer = unpack_obj(decompress(body, 64 * 1024 * 1024))
    except (ValueError, msgpack.UnpackException) as err:
        raise SegmentDamaged(f"footer does not decode ({err})") from None
    if not isinstance(footer, dict):
        raise SegmentDamaged("footer is not a map")
    return footer, 0


def check_section(data: bytes, ref: Ref) -> bytes:
    """`data` read at `ref`, verified against its CRC."""
    if len(data) != ref[1]:
        raise SegmentDamaged("section truncated")
    if zlib.crc32(data) != ref[2]:
        raise SegmentDamaged("section checksum mismatch")
    return data


# --- per-type sections ---------------------------------------------------------------------


@dataclass(slots=True)
class IndexParts:
    """What the sealer puts in a type's `index` section (see TypeIndex for the meaning)."""

    keys: list[tuple[str, str]]
    counts: array  # 'I': versions per key
    times: array  # 'q': every version's time, key by key
    kinds: bytes
    carried: bytes  # per key 1 when the base carries a copy of its start version (else b"")
    cvt: array  # 'q': version time of each carried copy
    lens: array  # 'I': raw length of every record, by record id
    blocks: list[tuple[int, int, int, int, int]] = field(default_factory=list)


class TypeIndex:
    """A type's `index` section as read: the objects of the type that changed in a segment
    (or, in a base, were carried into it), their versions, and where the versions' bytes are.

    Keys are sorted by (namespace, name). Versions are grouped by key, oldest first; `kinds`
    are ADDED/MODIFIED/DELETED as the recording saw them (ADDED after nothing or a delete).
    Records (the bytes of put versions, and in a base the carried copies) are numbered in pack
    order: key by key, a carried copy first, then its puts. `carried` flags the keys with a
    carried copy and `cvt` holds, for each of them in key order, the time its version began.
    `lens` is each record's length; `blocks` gives per block (first record id, offset in the
    blocks section, compressed length, raw length, CRC-32 of the compressed bytes).

    Reads cost per key, not per version: times are kept as prefix sums of the section's
    deltas (`g`), so any version's time, and the version in force at t, come from a subtraction
    and a bisection; nothing loops over every version when a segment is opened.
    """

    __slots__ = (
        "_carried_upto",
        "_ends",
        "_keys",
        "_puts",
        "_starts",
        "blocks",
        "carried",
        "counts",
        "cvt",
        "first_t",
        "g",
        "kinds",
        "kns",
        "lens",
        "names",
        "namespaces",
        "off",
    )

    def __init__(
        self,
        first_t: int,
        namespaces: list[str],
        kns: array,
        names: list[str],
        counts: array,
        deltas: array,
        kinds: bytes,
        carried: bytes,
        cvt: array,
        lens: array,
        blocks: list[tuple[int, int, int, int, int]],
    ) -> None:
        self.first_t = first_t
        self.namespaces, self.kns, self.names = namespaces, kns, names
        self.counts = counts
        self.kinds = kinds
        self.carried = carried
        self.cvt = cvt
        self.lens = lens
        self.blocks = blocks
        self.off = array("q", accumulate(counts, initial=0))
        self.g = array("q", accumulate(deltas))
        self._puts: array | None = None
        self._carried_upto: array | None = None
        self._keys: list[tuple[str, str]] | None = None
        self._ends: array | None = None
        self._starts: list[int] | None = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def keys(self) -> list[tuple[str, str]]:
        """(namespace, name) of every key, in order."""
        if self._keys is None:
            ns = self.namespaces
            self._keys = [(ns[i], name) for i, name in zip(self.kns, self.names, strict=True)]
        return self._keys

    def find(self, namespace: str, name: str) -> int | None:
        """The index of key (namespace, name), None when it is not here (keys are sorted)."""
        keys = self.keys
        j = bisect_left(keys, (namespace, name))
        return j if j < len(keys) and keys[j] == (namespace, name) else None

    def versions_of(self, j: int) -> list[tuple[int, int, int]]:
        """(time, kind, record id or -1 for a delete) of key j's versions, oldest first."""
        out = []
        lo = self.off[j]
        for p, t in enumerate(self.times_of(j), lo):
            kind = self.kinds[p]
            out.append((t, kind, -1 if kind == DELETED else self.rid(j, p)))
        return out

    def time(self, j: int, p: int) -> int:
        """The time of version p (a position in the section) of key j."""
        lo = self.off[j]
        return self.first_t + self.g[p] - (self.g[lo - 1] if lo else 0)

    def times_of(self, j: int) -> list[int]:
        """The times of key j's versions, oldest first."""
        lo, hi = self.off[j], self.off[j + 1]
        g = self.g
        base = self.first_t - (g[lo - 1] if lo else 0)
        return [base + g[p] for p in range(lo, hi)]

    def at(self, j: int, t: int) -> int:
        """Position of key j's version in force at t (`off[j] - 1` when none is yet)."""
        lo = self.off[j]
        target = t - self.first_t + (self.g[lo - 1] if lo else 0)
        return bisect_right(self.g, target, lo, self.off[j + 1]) - 1

    @property
    def puts(self) -> array:
        """Puts (versions with a record) among versions 0..p: record ids by subtraction."""
        if self._puts is None:
            self._puts = array("q", accumulate(self.kinds.translate(_PUT_OF_KIND)))
        return self._puts

    @property
    def carried_upto(self) -> array | None:
        """Carried copies among keys 0..j (None when there are none)."""
        if self._carried_upto is None and self.carried:
            self._carried_upto = array("q", accumulate(self.carried))
        return self._carried_upto

    def owners(self, rids: list[int]) -> list[tuple[int, int]]:
        """`record_owner` of many record ids, given in increasing order (one walk over the
        keys, not a search per record)."""
        out: list[tuple[int, int]] = []
        off, puts, carried = self.off, self.puts, self.carried
        upto = self.carried_upto
        n = len(self.names)
        j = 0
        end = 0  # one past key j's last record
        for rid in rids:
            while j < n:
                hi = off[j + 1]
                end = (puts[hi - 1] if hi else 0) + (upto[j] if upto is not None else 0)
                if end > rid:
                    break
                j += 1
            if j >= n:
                raise IndexError(f"record {rid} is not in the index")
            c = upto[j] if upto is not None else 0
            if carried and carried[j]:
                lo = off[j]
                first = (puts[lo - 1] if lo else 0) + (upto[j - 1] if j and upto else 0)
                if rid == first:  # the carried copy comes before the key's puts
                    out.append((j, self.cvt[c - 1]))
                    continue
            p = bisect_left(puts, rid - c + 1, off[j], off[j + 1])
            out.append((j, self.time(j, p)))
        return out

    def _carried(self, j: int) -> int:
        """Carried copies among keys 0..j."""
        return self.carried_upto[j] if self.carried_upto is not None else 0

    def rec_end(self, j: int) -> int:
        """One past the last record id of key j."""
        hi = self.off[j + 1]
        return (self.puts[hi - 1] if hi else 0) + self._carried(j)

    def rid(self, j: int, p: int) -> int:
        """The record id of put version p of key j."""
        return (self.puts[p - 1] if p else 0) + self._carried(j)

    def last(self, j: int) -> tuple[int, int] | None:
        """(time, record id) of key j's newest version; None when it is a delete (or key j
        has no version here: only a carried copy)."""
        hi = self.off[j + 1]
        if hi == self.off[j] or self.kinds[hi - 1] == DELETED:
            return None
        return self.time(j, hi - 1), self.rec_end(j) - 1

    def record_owner(self, rid: int) -> tuple[int, int]:
        """(key index, time its version began) of record `rid`."""
        j = bisect_right(range(len(self.names)), rid, key=self.rec_end)
        first = self.rec_end(j - 1) if j else 0
        if self.carried and self.carried[j] and rid == first:
            return j, self.cvt[self._carried(j) - 1]
        # the put version p of key j with puts[p - 1] + carried(j) == rid
        lo, hi = self.off[j], self.off[j + 1]
        target = rid - self._carried(j) + 1  # puts up to and including p
        p = bisect_left(self.puts, target, lo, hi)
        return j, self.time(j, p)

    def locate(self, rid: int) -> tuple[int, int, int]:
        """(block index, start, end) of record `rid` within its decompressed block."""
        if self._ends is None:
            self._ends = array("Q", accumulate(self.lens))
            self._starts = [b[0] for b in self.blocks]
        ends, starts = self._ends, self._starts
        assert starts is not None
        b = bisect_right(starts, rid) - 1
        first = starts[b]
        base = ends[first - 1] if first else 0
        start = (ends[rid - 1] if rid else 0) - base
        return b, start, start + self.lens[rid]


def pack_type_index(ix: IndexParts, first_t: int) -> bytes:
    """The `index` section of one type (times delta-encoded per key)."""
    namespaces = sorted({ns for ns, _ in ix.keys})
    ns_id = {ns: i for i, ns in enumerate(namespaces)}
    deltas = array("q")
    pos = 0
    for n in ix.counts:
        prev = first_t
        for t in ix.times[pos : pos + n]:
            deltas.append(t - prev)
            prev = t
        pos += n
    doc = {
        "ns": namespaces,
        "kns": array("I", (ns_id[ns] for ns, _ in ix.keys)).tobytes(),
        "names": [name for _, name in ix.keys],
        "n": ix.counts.tobytes(),
        "dt": shuffle(deltas.tobytes(), 8),
        "kind": bytes(ix.kinds),
        "carried": bytes(ix.carried),
        "cvt": ix.cvt.tobytes(),
        "len": ix.lens.tobytes(),
        "blocks": [list(b) for b in ix.blocks],
    }
    return compress(pack_obj(doc), index=True)


def unpack_type_index(blob: bytes, first_t: int) -> TypeIndex:
    """Undo `pack_type_index`; SegmentDamaged when the section does not make sense."""
    try:
        doc = unpack_obj(decompress(blob))
        namespaces = doc["ns"]
        kns = _array("I", doc["kns"])
        names = doc["names"]
        counts = _array("I", doc["n"])
        deltas = _array("q", unshuffle(doc["dt"], 8))
        kinds = bytes(doc["kind"])
        carried = bytes(doc["carried"])
        cvt = _array("q", doc["cvt"])
        lens = _array("I", doc["len"])
        blocks = [tuple(int(x) for x in b) for b in doc["blocks"]]
        if not isinstance(names, list) or not isinstance(namespaces, list):
            raise TypeError("key names are not lists")
        if len(kns) != len(names) or len(counts) != len(names):
            raise ValueError("key arrays disagree")
        if kns and max(kns) >= len(namespaces):
            raise ValueError("namespace index out of range")
        if sum(counts) != len(deltas) or len(kinds) != len(deltas):
            raise ValueError("version arrays disagree")
        if (carried and len(carried) != len(names)) or carried.count(1) != len(cvt):
            raise ValueError("carried arrays disagree")
        if len(lens) != len(kinds) - kinds.count(DELETED) + len(cvt):
            raise ValueError("record lengths disagree with the versions")
        if any(len(b) != 5 for b in blocks):
            raise ValueError("block entries are not 5 numbers")
    except (ValueError, KeyError, IndexError, TypeError, msgpack.UnpackException) as err:
        raise SegmentDamaged(f"type index does not decode ({err})") from None
    return TypeIndex(
        first_t,
        namespaces,
        kns,
        names,
        counts,
        deltas,
        kinds,
        carried,
        cvt,
        lens,
        blocks,  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class TypeState:
    """Every object of one type alive at a base segment's start, as a reference to its
    version: how many segments back it is stored (0: carried into this one) and its record
    id there. Key and version time are those the referenced segment's index gives the record:
    a reference costs ~2 bytes where a key and a time would cost ~12."""

    back: array  # 'I'
    rid: array  # 'I'


def pack_type_state(st: TypeState) -> bytes:
    """The `state` section: references sorted by (back, rid), record ids delta-encoded within
    each referenced segment."""
    pairs = sorted(zip(st.back, st.rid, strict=True))
    backs = array("I", (b for b, _ in pairs))
    deltas = array("I")
    prev_b, prev_r = -1, 0
    for b, r in pairs:
        deltas.append(r - prev_r if b == prev_b else r)
        prev_b, prev_r = b, r
    return compress(pack_obj({"back": backs.tobytes(), "drid": deltas.tobytes()}))


def unpack_type_state(blob: bytes) -> TypeState:
    """Undo `pack_type_state`."""
    try:
        doc = unpack_obj(decompress(blob))
        back, deltas = _array("I", doc["back"]), _array("I", doc["drid"])
        if len(back) != len(deltas):
            raise ValueError("state arrays disagree")
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as err:
        raise SegmentDamaged(f"type state does not decode ({err})") from None
    rid = array("I")
    prev_b, prev_r = -1, 0
    for b, d in zip(back, deltas, strict=True):
        prev_r = prev_r + d if b == prev_b else d
        prev_b = b
        rid.append(prev_r)
    return TypeState(back, rid)


def _array(code: str, raw: Any) -> array:
    if not isinstance(raw, bytes):
        raise TypeError("array field is not bytes")
    out = array(code)
    if len(raw) % out.itemsize:
        raise ValueError("array field has a partial item")
    out.frombytes(raw)
    return out


def histogram(times: list[int] | array, first_t: int, last_t: int) -> bytes:
    """Counts of `times` in HIST_BUCKETS equal slices of [first_t, last_t], as u32 bytes."""
    counts = array("I", bytes(4 * HIST_BUCKETS))
    span = last_t - first_t + 1
    for t in times:
        counts[min(HIST_BUCKETS - 1, max(0, (t - first_t) * HIST_BUCKETS // span))] += 1
    return counts.tobytes()


def pack_times(times: list[int], first_t: int) -> bytes:
    """Sorted times as shuffled int64 deltas (from `first_t`)."""
    deltas = array("q")
    prev = first_t
    for t in times:
        deltas.append(t - prev)
        prev = t
    return shuffle(deltas.tobytes(), 8)


def unpack_times(raw: bytes, first_t: int) -> list[int]:
    """Undo `pack_times`."""
    deltas = _array("q", unshuffle(raw, 8))
    out = []
    t = first_t
    for d in deltas:
        t += d
        out.append(t)
    return out
