"""Cold blocks: many versions of one type compressed together, read back one block at a time.

A version compressed alone pays for what it shares with every other pod (labels, specs, the
same timestamps); packed next to its own earlier versions and its siblings it costs a fraction
of that (measured on the bench stream: pods ~63 B per version in 192 KiB blocks, ~66 B in
128 KiB ones, against ~145 B as per-version keyframes and deltas; a 192 KiB block decodes in
~45 us). Records get consecutive ids; a chain keeps a record's id, and a block is dropped once
no chain refers to any of its records.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

from khronoscope.temporal.codec import TypeCodec

BLOCK_RAW = 192 * 1024


class ColdStore:
    """The cold blocks of one resource type (compressed with the type's dictionary)."""

    __slots__ = (
        "_blobs",
        "_cache",
        "_codec",
        "_ends",
        "_first",
        "_live",
        "_next",
        "block_raw",
        "bytes",
    )

    def __init__(self, type_codec: TypeCodec, block_raw: int = BLOCK_RAW) -> None:
        self._codec = type_codec
        self.block_raw = block_raw
        # per block: first record id, compressed bytes (None once dropped), record ends within
        # the decompressed block, records still referred to
        self._first = array("Q")
        self._blobs: list[bytes | None] = []
        self._ends: list[array | None] = []
        self._live = array("I")
        self._next = 0  # ids are never reused, not even those of dropped blocks
        self.bytes = 0
        # the last block read (by its first id): a history walks one chain's versions, which
        # share blocks
        self._cache: tuple[int, bytes] = (-1, b"")

    @property
    def blocks(self) -> int:
        """Blocks currently held."""
        return sum(1 for b in self._blobs if b is not None)

    def add(self, records: list[bytes]) -> int:
        """Store `records` (in order, cut into blocks of ~`block_raw` bytes); returns the id of
        the first, the others following it."""
        first = self._next
        left = sum(len(r) for r in records)
        start = 0
        size = 0
        for i, raw in enumerate(records):
            size += len(raw)
            left -= len(raw)
            # no small block at the end: a short rest joins the block before it
            if size >= self.block_raw and left >= self.block_raw // 2:
                self._seal(records[start : i + 1])
                start, size = i + 1, 0
        if start < len(records):
            self._seal(records[start:])
        return first

    def _seal(self, records: list[bytes]) -> None:
        ends = array("I")
        total = 0
        for raw in records:
            total += len(raw)
            ends.append(total)
        blob = self._codec.encode_block(b"".join(records))
        self._first.append(self._next)
        self._next += len(records)
        self._blobs.append(blob)
        self._ends.append(ends)
        self._live.append(len(records))
        self.bytes += len(blob)

    def _block_of(self, rid: int) -> int:
        return bisect_right(self._first, rid) - 1

    def _decoded(self, b: int) -> bytes:
        cached, raw = self._cache
        if cached != self._first[b]:
            blob = self._blobs[b]
            assert blob is not None, "a record of a dropped block was read"
            raw = self._codec.decode_block(blob)
            self._cache = (self._first[b], raw)
        return raw

    def read(self, rid: int) -> bytes:
        """The msgpack bytes of record `rid`."""
        b = self._block_of(rid)
        k = rid - self._first[b]
        ends = self._ends[b]
        assert ends is not None
        return self._decoded(b)[ends[k - 1] if k else 0 : ends[k]]

    def release(self, rid: int) -> None:
        """Record `rid` is no longer referred to; its block goes with its last record."""
        b = self._block_of(rid)
        self._live[b] -= 1
        if self._live[b] == 0:
            self._drop(b)

    def _drop(self, b: int) -> None:
        blob = self._blobs[b]
        assert blob is not None
        self.bytes -= len(blob)
        self._blobs[b] = None
        self._ends[b] = None
        if self._cache[0] == self._first[b]:
            self._cache = (-1, b"")
        if self._blobs[0] is None:
            self._forget_head()

    def _forget_head(self) -> None:
        # a recorder trims its oldest history first: the entries of the blocks dropped at the
        # head go, or they would pile up (28 B a block) for as long as it runs
        blobs = self._blobs
        k = 0
        while k < len(blobs) - 1 and blobs[k] is None:
            k += 1
        if k >= 64 or k * 2 >= len(blobs):
            del self._first[:k], blobs[:k], self._ends[:k], self._live[:k]
