"""RecordingReader: opens a recording, finds its blocks, verifies them, and reads records.

Opening reads the file header and either the trailing index (cleanly closed files) or every block
header (crashed or still-growing files: a seek and 44 bytes per block). A block whose header is
damaged is skipped by scanning for the next valid block header; a block whose payload fails its
checksum is skipped; both are reported as `Problem`s with the bytes and times they cover, and
everything else stays readable.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgpack
import zstandard as zstd

from khronoscope.core.timefmt import format_iso
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt

_SCAN_CHUNK = 1024 * 1024


class NotARecording(KhronoscopeError):
    """The file is missing, not a recording, or of a format this version cannot read."""


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """Where one block is and what its header says."""

    offset: int
    type: int
    flags: int
    payload_len: int
    records: int
    changes: int
    first_t: int
    last_t: int
    changes_before: int

    @property
    def end(self) -> int:
        """Offset just past the block."""
        return self.offset + fmt.BLOCK_HEADER_SIZE + self.payload_len

    @property
    def is_keyframe_end(self) -> bool:
        """True for the last block of a keyframe."""
        return self.type == fmt.KEYFRAME and bool(self.flags & fmt.F_KEYFRAME_END)


@dataclass(frozen=True, slots=True)
class Problem:
    """A damaged part of the file: which bytes, and what was lost."""

    start: int
    end: int
    what: str
    first_t: int | None = None
    last_t: int | None = None
    records: int | None = None

    def describe(self) -> str:
        """One line for the user."""
        lost = ""
        if self.records is not None:
            lost = f"; lost {self.records} records"
            if self.first_t is not None and self.last_t is not None:
                lost += f" from {format_iso(self.first_t)} to {format_iso(self.last_t)}"
        return f"bytes {self.start}-{self.end}: {self.what}{lost}"


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A complete keyframe: its blocks (in order) and its time."""

    t: int
    blocks: tuple[BlockInfo, ...]
    changes_before: int


class RecordingReader:
    """Read access to one recording file (which may still be growing)."""

    def __init__(
        self, path: str | os.PathLike[str], known_blocks: list[list[int]] | None = None
    ) -> None:
        """Open `path`; `known_blocks` (index entries of what its writer wrote and flushed)
        spares the walk over the block headers of a file that has no index yet."""
        self.path = Path(path)
        try:
            self._f: BinaryIO = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except FileNotFoundError:
            raise NotARecording(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise NotARecording(f"{self.path} is a directory, not a recording") from None
        except OSError as err:
            raise NotARecording(f"cannot open {self.path}: {err.strerror}") from None
        head = self._f.read(64 * 1024)
        try:
            version, header, size = fmt.unpack_file_header(head)
        except fmt.FormatError:
            self.close()
            raise NotARecording(f"{self.path} is not a khronoscope recording") from None
        if version > fmt.FORMAT_VERSION:
            self.close()
            raise NotARecording(
                f"{self.path} is a recording of format {version}, made by a newer khronoscope; "
                f"this one reads format {fmt.FORMAT_VERSION}: upgrade khronoscope"
            )
        if version < 1 or header is None:
            self.close()
            what = "truncated" if len(head) < size else "damaged"
            raise NotARecording(f"{self.path}: the recording's header is {what}")
        self.version = version
        self.header: dict[str, Any] = header
        self.data_start = size
        self.blocks: list[BlockInfo] = []
        self.problems: list[Problem] = []
        self.pending_tail: Problem | None = None  # an incomplete block at the end of the file
        self.indexed = False  # True when the block list came from the trailing index
        self._scan_pos = size
        self._bad_blocks: set[int] = set()
        self._decompressor = zstd.ZstdDecompressor()
        if known_blocks:
            self.blocks = [BlockInfo(*e) for e in known_blocks]
            self._scan_pos = self.blocks[-1].end
        self._scan(use_index=not known_blocks)

    @property
    def floor_t(self) -> int | None:
        """After retention: the moment just before the first kept record (None otherwise)."""
        compacted = self.header.get("compacted")
        if isinstance(compacted, dict) and isinstance(compacted.get("start"), int):
            return int(compacted["start"]) - 1
        return None

    # --- scanning ---------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Current size of the file in bytes."""
        return os.fstat(self._f.fileno()).st_size

    def _read_at(self, offset: int, n: int) -> bytes:
        self._f.seek(offset)
        return self._f.read(n)

    def _scan(self, use_index: bool) -> None:
        size = self.size
        if use_index and not self.blocks and self._load_index(size):
            return
        off = self._scan_pos
        self.pending_tail = None
        while off < size:
            head = self._read_at(off, fmt.BLOCK_HEADER_SIZE)
            h = fmt.unpack_block_header(head)
            if h is None:
                trailer = self._read_at(off, fmt.TRAILER_SIZE)
                if fmt.unpack_trailer(trailer) is not None:
                    off += fmt.TRAILER_SIZE  # the end of a cleanly closed part
                    continue
                if size - off < fmt.BLOCK_HEADER_SIZE and not head.strip(b"\0"):
                    break  # zero-filled tail of a preallocated or torn write: nothing lost
                nxt = self._find_next_block(off + 1, size)
                if nxt is None and size - off < fmt.BLOCK_HEADER_SIZE:
                    self.pending_tail = Problem(off, size, "incomplete block header at the end")
                    break
                end = size if nxt is None else nxt
                self.problems.append(
                    Problem(
                        off,
                        end,
                        "unreadable bytes (damaged block header)",
                        self.blocks[-1].last_t if self.blocks else None,
                        None,
                        None,
                    )
                )
                off = end
                continue
            info = BlockInfo(
                off,
                h.type,
                h.flags,
                h.payload_len,
                h.records,
                h.changes,
                h.first_t,
                h.last_t,
                h.changes_before,
            )
            if info.end > size:
                self.pending_tail = Problem(
                    off,
                    size,
                    f"last block truncated ({size - off} of {info.end - off} bytes)",
                    h.first_t,
                    h.last_t,
                    h.records,
                )
                break
            self.blocks.append(info)
            off = info.end
        self._scan_pos = off

    def _load_index(self, size: int) -> bool:
        """Use the trailing index of a cleanly closed file; False when there is none."""
        if size < self.data_start + fmt.TRAILER_SIZE:
            return False
        offset = fmt.unpack_trailer(self._read_at(size - fmt.TRAILER_SIZE, fmt.TRAILER_SIZE))
        if offset is None or offset >= size:
            return False
        h = fmt.unpack_block_header(self._read_at(offset, fmt.BLOCK_HEADER_SIZE))
        if h is None or h.type != fmt.INDEX:
            return False
        info = BlockInfo(
            offset,
            h.type,
            h.flags,
            h.payload_len,
            h.records,
            h.changes,
            h.first_t,
            h.last_t,
            h.changes_before,
        )
        try:
            payload = self._payload(info)
        except _BadBlock:
            return False
        try:
            entries = msgpack.unpackb(payload, raw=False)[1]
            blocks = [BlockInfo(*e) for e in entries]
        except (ValueError, TypeError, IndexError, msgpack.UnpackException):
            return False
        self.blocks = blocks
        self.indexed = True
        self._scan_pos = size
        return True

    def _find_next_block(self, start: int, size: int) -> int | None:
        """Offset of the next valid block header at or after `start` (resync after damage)."""
        pos = start
        while pos < size:
            chunk = self._read_at(pos, _SCAN_CHUNK + fmt.BLOCK_HEADER_SIZE)
            i = chunk.find(fmt.BLOCK_MAGIC)
            while i >= 0:
                cand = pos + i
                if fmt.unpack_block_header(self._read_at(cand, fmt.BLOCK_HEADER_SIZE)):
                    return cand
                i = chunk.find(fmt.BLOCK_MAGIC, i + 1)
            pos += _SCAN_CHUNK
        return None

    def refresh(self) -> list[BlockInfo]:
        """Pick up blocks appended since the last scan (follow mode); returns the new ones."""
        if self.indexed:
            return []  # a cleanly closed file does not grow
        before = len(self.blocks)
        self._scan(use_index=False)
        return self.blocks[before:]

    # --- block contents ---------------------------------------------------------------------

    def _payload(self, b: BlockInfo) -> bytes:
        head = self._read_at(b.offset, fmt.BLOCK_HEADER_SIZE + b.payload_len)
        h = fmt.unpack_block_header(head)
        if h is None or h.payload_len != b.payload_len:
            raise _BadBlock("damaged block header")
        payload = head[fmt.BLOCK_HEADER_SIZE :]
        if len(payload) != h.payload_len:
            raise _BadBlock("block truncated")
        if zlib.crc32(payload) != h.payload_crc:
            raise _BadBlock("block checksum mismatch")
        if h.flags & fmt.F_ZSTD:
            try:
                return self._decompressor.decompress(payload)
            except zstd.ZstdError:
                raise _BadBlock("block does not decompress") from None
        return payload

    def records(self, b: BlockInfo) -> list[list[Any]]:
        """The records of a block; [] (and a Problem) when the block is damaged."""
        try:
            payload = self._payload(b)
        except _BadBlock as err:
            self._report_bad(b, str(err))
            return []
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0)
        unpacker.feed(payload)
        try:
            return list(unpacker)
        except (msgpack.UnpackException, ValueError):
            self._report_bad(b, "block records do not decode")
            return []

    def _report_bad(self, b: BlockInfo, what: str) -> None:
        if b.offset in self._bad_blocks:
            return
        self._bad_blocks.add(b.offset)
        self.problems.append(Problem(b.offset, b.end, what, b.first_t, b.last_t, b.records))

    def is_bad(self, b: BlockInfo) -> bool:
        """True when reading the block found it damaged."""
        return b.offset in self._bad_blocks

    def verify(self) -> list[Problem]:
        """Read every block and return every problem found (header, checksum, truncation)."""
        for b in self.blocks:
            if b.offset not in self._bad_blocks:
                try:
                    self._payload(b)
                except _BadBlock as err:
                    self._report_bad(b, str(err))
        return self.report()

    def report(self) -> list[Problem]:
        """Problems found so far, in file order (the truncated tail last)."""
        out = sorted(self.problems, key=lambda p: p.start)
        if self.pending_tail is not None:
            out.append(self.pending_tail)
        return out

    # --- structure --------------------------------------------------------------------------

    def keyframes(self) -> list[Keyframe]:
        """Complete keyframes (every part present) in file order."""
        out: list[Keyframe] = []
        run: list[BlockInfo] = []
        for b in self.blocks:
            if b.type != fmt.KEYFRAME:
                run = []
                continue
            if run and run[0].first_t != b.first_t:
                run = []
            run.append(b)
            if b.is_keyframe_end:
                out.append(Keyframe(b.first_t, tuple(run), b.changes_before))
                run = []
        return out

    def data_blocks(self, start: int = 0, end: int | None = None) -> Iterator[BlockInfo]:
        """Data blocks of self.blocks[start:end]."""
        for b in self.blocks[start:end]:
            if b.type == fmt.DATA:
                yield b

    @property
    def change_count(self) -> int:
        """Changes in the blocks found (from the block headers; no decoding)."""
        return sum(b.changes for b in self.blocks if b.type == fmt.DATA)

    @property
    def first_t(self) -> int | None:
        """Time of the earliest record (from block headers)."""
        ts = [b.first_t for b in self.blocks if b.type == fmt.DATA]
        return min(ts) if ts else None

    @property
    def last_t(self) -> int | None:
        """Time of the latest record (from block headers)."""
        ts = [b.last_t for b in self.blocks if b.type in (fmt.DATA, fmt.KEYFRAME)]
        return max(ts) if ts else None

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _BadBlock(Exception):
    pass
