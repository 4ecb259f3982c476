"""The recording file format, version 1: constants and the byte layout of headers and blocks.

See docs/recording-format.md for the full description. In short: a file header, then blocks; each
block has a 56-byte fixed header (magic, type, lengths, record and change counts, first/last time,
changes before it, payload CRC, header CRC) and a zstd-compressed payload of msgpack records.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import msgpack
import zstandard as zstd

FILE_MAGIC = b"\x89KHRONO\n"
FORMAT_VERSION = 1
# file header: magic, u16 version, u32 length of the msgpack map, then the map, then u32 crc32
_FILE_HEAD = struct.Struct("<8sHI")

BLOCK_MAGIC = b"KHBK"
# magic, type u8, flags u8, reserved u16, payload len u32, raw len u32, records u32, changes u32,
# first_t i64, last_t i64, changes before u64, payload crc32 u32; then u32 crc32 of those bytes
_BLOCK_HEAD = struct.Struct("<4sBBHIIIIqqQI")
BLOCK_HEADER_SIZE = _BLOCK_HEAD.size + 4

TRAILER_MAGIC = b"KHIX"
# at the very end of a cleanly closed file: magic, u64 offset of the index block, u32 crc32
_TRAILER = struct.Struct("<4sQI")
TRAILER_SIZE = _TRAILER.size

# a header claiming more is garbage (resync past it): blocks are cut at 256 KiB (data) and 1 MiB
# (keyframes) of records, so only an object near the largest an API server accepts, or the index
# of a recording of hundreds of GB, comes anywhere near these
MAX_PAYLOAD = 64 * 1024 * 1024
MAX_RAW = 64 * 1024 * 1024
# an object version once decoded (a delta frame may claim any size; the API server's own limit
# on an object is a few MiB)
MAX_OBJECT = 32 * 1024 * 1024

# block types
DATA = 1
KEYFRAME = 2
INDEX = 3

# block flags
F_ZSTD = 0x01  # payload is one zstd frame
F_KEYFRAME_END = 0x02  # last block of a keyframe

# record kinds (first element of every record array)
PUT_FULL = 0  # [0, t, type, ns, name, msgpack bytes of the object]
PUT_DELTA = 1  # [1, t, type, ns, name, zstd frame of the object, dict = previous version]
DELETE = 2  # [2, t, type, ns, name]
BOOKMARK = 3  # [3, t, id, label, key or nil, created]
BOOKMARK_DEL = 4  # [4, t, id]
LOG = 5  # [5, t, ns, pod, container, line]
METRIC = 6  # [6, t, type, ns, name, {field: number}]
GAP = 7  # [7, start, end, type, reason]
STATUS = 8  # [8, t, type, state, error, objects, changes]
TYPES = 9  # [9, t, [resource type arrays]]
INFO = 10  # [10, t, {field: value}]
LOG_NOTE = 11  # [11, t, ns, pod, container, text]  a restart or loss shown among lines
PROVENANCE = 12  # [12, t, type, ns, name, {field: value}]  who made the version at t (or a mark)
RECONSTRUCTED = 13  # [13, t, type, ns, name, msgpack bytes]  a version rebuilt from what remains
# first record of every data block: what the previous data block held, so that its changes can
# be counted per type and object if it is lost (see docs/recording-format.md, "Ledgers")
LEDGER = 14  # [14, t, back or nil, {type: changes before this block}, {type: {ns: [names]}}]
CLOSE = 15  # [15, t]  the recorder stopped at t (written once, on a clean close)
KF_BEGIN = 20  # [20, t, objects, changes, highest bookmark id ever]  first record of a keyframe
KF_OBJECT = 21  # [21, t_version, type, ns, name, msgpack bytes]

CHANGE_KINDS = frozenset((PUT_FULL, PUT_DELTA, DELETE))

# what a writer does that a reader may rely on (the header's `features`): `ledger` (every data
# block starts with a LEDGER; change numbers run on without jumps, even after retention),
# `close` (a CLOSE record on a clean close), `lock` (the writer holds an exclusive flock on the
# file while it writes)
FEATURES = ("ledger", "close", "lock")

SECRETS_REDACTED = "redacted"
SECRETS_KEPT = "kept"


class FormatError(Exception):
    """Bytes that are not what the format says (the reader turns these into reports)."""


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The fixed header of one block, as read from the file."""

    type: int
    flags: int
    payload_len: int
    raw_len: int
    records: int
    changes: int
    first_t: int
    last_t: int
    changes_before: int
    payload_crc: int


def pack_block(
    btype: int,
    flags: int,
    payload: bytes,
    raw_len: int,
    records: int,
    changes: int,
    first_t: int,
    last_t: int,
    changes_before: int,
) -> bytes:
    """Header and payload of one block, ready to be written with a single write()."""
    head = _BLOCK_HEAD.pack(
        BLOCK_MAGIC,
        btype,
        flags,
        0,
        len(payload),
        raw_len,
        records,
        changes,
        first_t,
        last_t,
        changes_before,
        zlib.crc32(payload),
    )
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def unpack_block_header(buf: bytes | memoryview) -> BlockHeader | None:
    """The header at the start of `buf`, or None if it is not a valid one (magic or CRC)."""
    if len(buf) < BLOCK_HEADER_SIZE:
        return None
    head = bytes(buf[: _BLOCK_HEAD.size])
    if head[:4] != BLOCK_MAGIC:
        return None
    (crc,) = struct.unpack_from("<I", buf, _BLOCK_HEAD.size)
    if zlib.crc32(head) != crc:
        return None
    _, btype, flags, _, plen, rlen, records, changes, first_t, last_t, before, pcrc = (
        _BLOCK_HEAD.unpack(head)
    )
    if plen > MAX_PAYLOAD or rlen > MAX_RAW or not 0 <= first_t <= last_t:
        return None
    return BlockHeader(btype, flags, plen, rlen, records, changes, first_t, last_t, before, pcrc)


def pack_file_header(header: dict[str, Any]) -> bytes:
    """The file header: magic, version, and the msgpack map describing the recording."""
    body = msgpack.packb(header, use_bin_type=True)
    head = _FILE_HEAD.pack(FILE_MAGIC, FORMAT_VERSION, len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


def unpack_file_header(buf: bytes) -> tuple[int, dict[str, Any] | None, int]:
    """(format version, header map or None if incomplete/corrupt, size in bytes).

    Raises FormatError when `buf` does not start with the recording magic.
    """
    if len(buf) < _FILE_HEAD.size or buf[:8] != FILE_MAGIC:
        raise FormatError("not a khronoscope recording")
    _, version, length = _FILE_HEAD.unpack_from(buf)
    end = _FILE_HEAD.size + length
    if version != FORMAT_VERSION:
        return version, None, end + 4
    if len(buf) < end + 4:
        return version, None, end + 4
    (crc,) = struct.unpack_from("<I", buf, end)
    if zlib.crc32(buf[:end]) != crc:
        return version, None, end + 4
    try:
        header = msgpack.unpackb(buf[_FILE_HEAD.size : end], raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        return version, None, end + 4  # a valid checksum over bytes that are no header map
    if not isinstance(header, dict):
        return version, None, end + 4
    return version, header, end + 4


def inflate(frame: bytes, size: int, dctx: zstd.ZstdDecompressor) -> bytes:
    """The content of one zstd frame that must be exactly `size` bytes (what a header declares).

    The frame's own claim is checked before anything is allocated, so a crafted frame cannot
    make a reader allocate more than the header it passed said; trailing bytes are refused.
    Raises FormatError.
    """
    try:
        declared = zstd.frame_content_size(frame)
    except zstd.ZstdError:
        raise FormatError("not a zstd frame") from None
    if declared >= 0 and declared != size:
        raise FormatError(f"frame holds {declared} bytes, the header says {size}")
    if declared < 0 and size == 0:
        raise FormatError("frame of unknown size where the header says 0")  # 0: no limit below
    try:
        out = dctx.decompress(frame, max_output_size=size, allow_extra_data=False)
    except zstd.ZstdError:
        raise FormatError("does not decompress") from None
    if len(out) != size:
        raise FormatError(f"frame holds {len(out)} bytes, the header says {size}")
    return out


def pack_trailer(index_offset: int) -> bytes:
    """The fixed trailer that points at the index block."""
    head = struct.pack("<4sQ", TRAILER_MAGIC, index_offset)
    return head + struct.pack("<I", zlib.crc32(head))


def unpack_trailer(buf: bytes) -> int | None:
    """The index block's offset from a trailer, or None if `buf` is not a valid trailer."""
    if len(buf) != TRAILER_SIZE:
        return None
    magic, offset, crc = _TRAILER.unpack(buf)
    if magic != TRAILER_MAGIC or zlib.crc32(buf[:12]) != crc:
        return None
    return offset
