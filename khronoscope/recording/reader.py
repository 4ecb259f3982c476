"""RecordingReader: opens a recording, finds its blocks, verifies them, and reads records.

Opening reads the file header and either the trailing index (cleanly closed files) or every block
header (crashed or still-growing files: a seek and 56 bytes per block). A block whose header is
damaged is skipped by scanning for the next valid block header; a block whose payload fails its
checksum, does not inflate to the size its header declares, or holds records of the wrong shape
is skipped; each is reported as a `Problem` with the bytes, times and changes it covers, and
everything else stays readable.

Blocks are numbered by the changes written before them (`changes_before`): the reader puts blocks
back in that order (a block copied out of place), skips a second copy of a block, and counts the
changes missing where the numbers jump over unreadable bytes.

Nothing read is trusted for sizes: decompression is bounded by the length the block header
declares (itself bounded), and msgpack by the payload's length, so a crafted file costs at most
what its headers honestly claim.
"""

from __future__ import annotations

import fcntl
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgpack
import zstandard as zstd

from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording.loss import Problem
from khronoscope.recording.records import valid_record

__all__ = [
    "BlockInfo",
    "Keyframe",
    "MissingChanges",
    "NotARecording",
    "Problem",
    "RecordingReader",
]

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
    # from the block's own header (not in the index): tells a second copy of a block apart
    payload_crc: int = field(default=-1, compare=False)

    @property
    def end(self) -> int:
        """Offset just past the block."""
        return self.offset + fmt.BLOCK_HEADER_SIZE + self.payload_len

    @property
    def is_keyframe_end(self) -> bool:
        """True for the last block of a keyframe."""
        return self.type == fmt.KEYFRAME and bool(self.flags & fmt.F_KEYFRAME_END)


@dataclass(frozen=True, slots=True)
class MissingChanges:
    """Change numbers the file skips over: `count` changes from `first` on were in `problem`'s
    bytes (or in blocks that are gone)."""

    first: int
    count: int
    problem: Problem


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
        self._f: BinaryIO = _open_regular(self.path)
        size = os.fstat(self._f.fileno()).st_size
        if size == 0:
            self.close()
            raise NotARecording(
                f"{self.path} is empty (0 bytes): nothing was ever written to it (a recorder "
                "that could not start, e.g. on a full disk)"
            )
        head = self._f.read(64 * 1024)
        try:
            version, header, hsize = fmt.unpack_file_header(head)
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
            what = "truncated" if len(head) < hsize else "damaged"
            raise NotARecording(f"{self.path}: the recording's header is {what}")
        self.version = version
        self.header: dict[str, Any] = header
        self.data_start = hsize
        self.blocks: list[BlockInfo] = []
        self.problems: list[Problem] = []
        self.missing: list[MissingChanges] = []  # change numbers skipped over (lost changes)
        self.pending_tail: Problem | None = None  # an incomplete block at the end of the file
        self.indexed = False  # True when the block list came from the trailing index
        self._scan_pos = hsize
        self._bad_blocks: set[int] = set()
        self._moved: dict[tuple[int, ...], int] | None = None  # index mode: where blocks are
        self._next_change = 0  # the change number the next data block should start at
        self._seen: dict[tuple[int, ...], BlockInfo] = {}  # blocks kept, by what they hold
        self._decompressor = zstd.ZstdDecompressor()
        features = header.get("features")
        self.features: frozenset[str] = frozenset(
            f for f in (features if isinstance(features, list) else []) if isinstance(f, str)
        )
        # change numbers jump over nothing in files of writers that say so, and in files that
        # were never compacted (older writers did not renumber what they wrote after retention)
        self._trust_numbers = "ledger" in self.features or "compacted" not in header
        if known_blocks:
            self._add_blocks([BlockInfo(*e) for e in known_blocks], [], in_order=True)
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
        first_scan = not self.blocks
        blocks, problems, tail, end = self._walk(self._scan_pos, size)
        self.pending_tail = tail
        self._scan_pos = end
        self._add_blocks(blocks, problems, in_order=not first_scan)

    def _walk(
        self, off: int, size: int
    ) -> tuple[list[BlockInfo], list[Problem], Problem | None, int]:
        """Every valid block header from `off` on; unreadable stretches as problems; the torn
        last block; and where the next walk starts."""
        blocks: list[BlockInfo] = []
        problems: list[Problem] = []
        tail: Problem | None = None
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
                    tail = Problem(off, size, "incomplete block header at the end")
                    break
                end = size if nxt is None else nxt
                problems.append(Problem(off, end, "unreadable bytes (damaged block header)"))
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
                h.payload_crc,
            )
            if info.end > size:
                tail = Problem(
                    off,
                    size,
                    f"last block truncated ({size - off} of {info.end - off} bytes)",
                    h.first_t,
                    h.last_t,
                    h.records,
                    h.changes,
                )
                break
            blocks.append(info)
            off = info.end
        return blocks, problems, tail, off

    def _add_blocks(self, new: list[BlockInfo], problems: list[Problem], in_order: bool) -> None:
        """Append blocks found by a walk, in the order their change numbers say (a first walk
        may reorder; later ones, while following, only append), skipping second copies and
        counting the changes missing where the numbers jump."""
        unread = sorted(problems, key=lambda p: p.start)
        moved: set[int] = set()
        if not in_order:
            top = -1
            for b in new:
                if b.type != fmt.INDEX:
                    if b.changes_before < top:
                        moved.add(b.offset)
                    top = max(top, b.changes_before)
            new = sorted(new, key=_sequence_key)
        prev_end = self.blocks[-1].end if self.blocks else self.data_start
        for b in new:
            if b.type == fmt.INDEX:
                self.blocks.append(b)
                continue
            ident = _identity(b)
            first = self._seen.get(ident)
            if first is not None and b.payload_crc != -1 and first.payload_crc == b.payload_crc:
                what = f"a second copy of the block at byte {first.offset}: skipped"
            elif b.changes_before < self._next_change:
                what = (
                    f"a block numbered as changes {b.changes_before}.."
                    f"{b.changes_before + b.changes}, which were read already: skipped"
                )
            else:
                what = ""
            if what:
                self.problems.append(
                    Problem(b.offset, b.end, what, b.first_t, b.last_t, lossless=True)
                )
                continue
            if b.changes_before > self._next_change:
                self._count_missing(b, prev_end, unread)
                self._next_change = b.changes_before
            if b.offset in moved:
                self.problems.append(
                    Problem(
                        b.offset,
                        b.end,
                        f"a block out of place (changes {b.changes_before}.."
                        f"{b.changes_before + b.changes}, found after later ones): read in "
                        "its place",
                        b.first_t,
                        b.last_t,
                        lossless=True,
                    )
                )
            self._seen[ident] = b
            self.blocks.append(b)
            prev_end = b.end
            if b.type == fmt.DATA:
                self._next_change = b.changes_before + b.changes
        used = {id(m.problem) for m in self.missing}
        for p in unread:
            if id(p) not in used:
                # unreadable bytes the numbering runs straight over held no change (a
                # keyframe, logs); at the end of the file nobody can say
                followed = self._trust_numbers and bool(self.blocks) and p.end <= prev_end
                self.problems.append(self._with_times(p, 0 if followed else None))

    def _count_missing(self, b: BlockInfo, prev_end: int, unread: list[Problem]) -> None:
        """Changes numbered before block `b` that no block holds: lost in the unreadable bytes
        before it (or, in files whose numbers never jump, in blocks that are gone)."""
        count = b.changes_before - self._next_change
        between = [p for p in unread if prev_end <= p.start and p.end <= b.offset]
        if between:
            p = between[-1]
            unread.remove(p)
        elif self._trust_numbers:
            p = Problem(prev_end, b.offset, "change numbers skip over blocks that are not here")
        else:
            return
        p = self._with_times(p, count, b.first_t)
        self.problems.append(p)
        self.missing.append(MissingChanges(self._next_change, count, p))

    def _with_times(
        self, p: Problem, changes: int | None = None, after: int | None = None
    ) -> Problem:
        """An unreadable stretch with the times of the blocks around it (and what it held)."""
        before = [b.last_t for b in self.blocks if b.end <= p.start and b.type != fmt.INDEX]
        return Problem(
            p.start,
            p.end,
            p.what,
            max(before) if before else after,
            after if before else None,
            None,
            changes,
        )

    def _load_index(self, size: int) -> bool:
        """Use the trailing index of a cleanly closed file; False when there is none (or it
        does not describe a well-formed sequence of blocks: then the headers are walked)."""
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
            # unpackb bounds every length by the payload's own
            doc = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            entries = doc[1]
            blocks = [BlockInfo(*e) for e in entries]
        except (_BadBlock, ValueError, TypeError, IndexError, KeyError, msgpack.UnpackException):
            return False
        if not self._valid_index(blocks, offset, entries):
            return False
        self.blocks = blocks
        for b in blocks:
            self._seen[_identity(b)] = b
            if b.type == fmt.DATA:
                self._next_change = b.changes_before + b.changes
        self.indexed = True
        self._scan_pos = size
        return True

    def _valid_index(self, blocks: list[BlockInfo], index_at: int, entries: Any) -> bool:
        """Index entries that describe blocks one after the other, numbered in sequence."""
        if len(blocks) > (index_at - self.data_start) // fmt.BLOCK_HEADER_SIZE:
            return False
        pos = self.data_start
        next_change = 0
        for b, e in zip(blocks, entries, strict=True):
            if len(e) != 9 or not all(type(x) is int for x in e):
                return False
            if b.type not in (fmt.DATA, fmt.KEYFRAME) or b.offset < pos or b.end > index_at:
                return False
            if not 0 <= b.payload_len <= fmt.MAX_PAYLOAD or not 0 <= b.first_t <= b.last_t:
                return False
            if b.changes < 0 or b.records < 0 or b.changes_before < next_change:
                return False
            if b.changes_before > next_change and self._trust_numbers:
                return False  # changes missing: the headers will say where
            pos = b.end
            if b.type == fmt.DATA:
                next_change = b.changes_before + b.changes
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

    # --- the writer -------------------------------------------------------------------------

    def writer_lock_held(self) -> bool | None:
        """True while a writer holds its lock on the file, False when none does, None when the
        file's writer does not lock it or locks are not supported here."""
        if "lock" not in self.features:
            return None
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
        return False

    def replaced(self) -> bool:
        """True when the path no longer names the file this reader has open (it was rewritten
        by retention, moved or deleted)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        mine = os.fstat(self._f.fileno())
        return (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino)

    # --- block contents ---------------------------------------------------------------------

    def _payload(self, b: BlockInfo) -> bytes:
        at = b.offset
        data = self._read_at(at, fmt.BLOCK_HEADER_SIZE + b.payload_len)
        h = fmt.unpack_block_header(data)
        if (h is None or not _matches(h, b)) and self.indexed and b.type != fmt.INDEX:
            at = self._relocate(b)
            if at is not None:
                data = self._read_at(at, fmt.BLOCK_HEADER_SIZE + b.payload_len)
                h = fmt.unpack_block_header(data)
        if h is None or not _matches(h, b):
            raise _BadBlock("damaged block header")
        payload = data[fmt.BLOCK_HEADER_SIZE :]
        if len(payload) != h.payload_len:
            raise _BadBlock("block truncated")
        if zlib.crc32(payload) != h.payload_crc:
            raise _BadBlock("block checksum mismatch")
        if h.flags & fmt.F_ZSTD:
            try:
                return fmt.inflate(payload, h.raw_len, self._decompressor)
            except fmt.FormatError as err:
                raise _BadBlock(f"block payload {err}") from None
        if len(payload) != h.raw_len:
            raise _BadBlock("block length does not match its header")
        return payload

    def payload(self, b: BlockInfo) -> bytes | None:
        """A block's decompressed bytes; None (and a Problem) when the block is damaged."""
        try:
            return self._payload(b)
        except _BadBlock as err:
            self._report_bad(b, str(err))
            return None

    def _relocate(self, b: BlockInfo) -> int | None:
        """Index mode, a block not where the index says: walk the headers once and find it
        elsewhere (blocks moved or copied by something other than the writer)."""
        if self._moved is None:
            found, _, _, _ = self._walk(self.data_start, self.size)
            self._moved = {}
            for f in found:
                self._moved.setdefault(_identity(f), f.offset)
        at = self._moved.get(_identity(b))
        if at is not None and at != b.offset:
            self.problems.append(
                Problem(
                    at,
                    at + fmt.BLOCK_HEADER_SIZE + b.payload_len,
                    f"the block the index places at byte {b.offset} is here: read from here",
                    b.first_t,
                    b.last_t,
                    lossless=True,
                )
            )
            return at
        return None

    def records(self, b: BlockInfo) -> list[list[Any]]:
        """The records of a block; [] (and a Problem) when the block is damaged or holds
        records that are not what the format says."""
        try:
            payload = self._payload(b)
        except _BadBlock as err:
            self._report_bad(b, str(err))
            return []
        unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=False, max_buffer_size=max(len(payload), 1)
        )
        unpacker.feed(payload)
        try:
            out = list(unpacker)
        except (msgpack.UnpackException, ValueError, TypeError):
            self._report_bad(b, "block records do not decode")
            return []
        if len(out) != b.records:
            self._report_bad(b, f"block holds {len(out)} records, its header says {b.records}")
            return []
        changes = 0
        for r in out:
            if not valid_record(r):
                self._report_bad(b, "block holds records of the wrong shape")
                return []
            if r[0] in fmt.CHANGE_KINDS:
                changes += 1
        if changes != b.changes:
            self._report_bad(b, f"block holds {changes} changes, its header says {b.changes}")
            return []
        return out

    def _report_bad(self, b: BlockInfo, what: str) -> None:
        if b.offset in self._bad_blocks:
            return
        self._bad_blocks.add(b.offset)
        # a keyframe repeats what the blocks before it hold (but the first one of a compacted
        # file, which holds what was dropped before it)
        lossless = b.type == fmt.KEYFRAME and not (
            "compacted" in self.header and b.changes_before == 0
        )
        self.problems.append(
            Problem(
                b.offset,
                b.end,
                what,
                b.first_t,
                b.last_t,
                None if lossless else b.records,
                b.changes,
                lossless,
            )
        )

    def report_bad(self, b: BlockInfo, what: str) -> None:
        """Mark a block damaged for a reason found in its records (e.g. an incomplete keyframe)."""
        self._report_bad(b, what)

    def is_bad(self, b: BlockInfo) -> bool:
        """True when reading the block found it damaged."""
        return b.offset in self._bad_blocks

    def verify(self) -> list[Problem]:
        """Check every block's payload and return every problem found (header, checksum,
        size, truncation; record shapes are checked when blocks are read)."""
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
    def last_data_t(self) -> int | None:
        """Time of the latest record in a data block (from block headers)."""
        ts = [b.last_t for b in self.blocks if b.type == fmt.DATA]
        return max(ts) if ts else None

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


def _open_regular(path: Path) -> BinaryIO:
    """The file opened for reading, refused at once (one line) when it is not a regular file:
    a FIFO or a device would block or never end (opened non-blocking, then checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotARecording(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotARecording(f"{path} is a directory, not a recording") from None
    except OSError as err:
        raise NotARecording(f"cannot open {path}: {err.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise NotARecording(f"{path} is a directory, not a recording")
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            kind = "a device"
        elif stat.S_ISSOCK(mode):
            kind = "a socket"
        raise NotARecording(f"{path} is {kind}, not a recording file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _sequence_key(b: BlockInfo) -> tuple[int, int]:
    # in a well-formed file blocks holding changes come last among those with the same number
    # (keyframes and blocks of logs only are numbered like the block after them): a stable sort
    # on this leaves such a file as it is
    return (b.changes_before if b.type != fmt.INDEX else 1 << 64, 1 if b.changes else 0)


def _identity(b: BlockInfo) -> tuple[int, ...]:
    return (
        b.type,
        b.flags,
        b.payload_len,
        b.records,
        b.changes,
        b.first_t,
        b.last_t,
        b.changes_before,
    )


def _matches(h: fmt.BlockHeader, b: BlockInfo) -> bool:
    return (
        h.type,
        h.flags,
        h.payload_len,
        h.records,
        h.changes,
        h.first_t,
        h.last_t,
        h.changes_before,
    ) == _identity(b)
