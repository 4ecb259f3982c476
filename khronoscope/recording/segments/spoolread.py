"""A closed spool file read for sealing, without ever holding all of it.

Sealing reads a spool twice: once record by record, in the order written (one block's records
in memory at a time), noting where each object version's bytes are; then, type by type, the
versions it packs, a bounded batch at a time, read back by where they are. A spool holds up to
`seal_raw` (128 MiB) of records: read whole, it cost ~2x that in Python objects per seal, memory
glibc then kept. The format-1 reader reads it (torn last block left out, damaged blocks
reported and skipped), as it always has.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgpack

from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording.reader import BlockInfo, RecordingReader

# a version's place: its block's number among the spool's data blocks, and its ordinal there
_ORDINAL_BITS = 32
_ORDINAL_MASK = (1 << _ORDINAL_BITS) - 1
_PUT_ITEMS = 6  # [PUT_FULL, t, type, ns, name, version bytes]: the bytes end the record


class SpoolChanged(KhronoscopeError):
    """A spool's bytes changed between the two reads of one seal: nothing is sealed from it."""


class SpoolFile:
    """A closed spool file: its readable records in order, and versions' bytes read back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = RecordingReader(path)
        self._blocks: list[BlockInfo] = list(self._reader.data_blocks())
        self._ends: dict[int, array[int]] = {}  # per block read back: where each record ends
        # versions not at their record's end (a record with more items than a spool writes)
        self._held: dict[int, bytes] = {}

    def records(self) -> Iterator[tuple[int, list[Any]]]:
        """Every readable record, in the order written, with where it is (its `ref`)."""
        for n, b in enumerate(self._blocks):
            for i, r in enumerate(self._reader.records(b)):
                ref = (n << _ORDINAL_BITS) | i
                if r[0] == fmt.PUT_FULL and len(r) != _PUT_ITEMS:
                    self._held[ref] = r[5]
                yield ref, r

    def versions(self, refs: Sequence[int], sizes: Sequence[int]) -> list[bytes]:
        """The bytes of the PUT_FULL versions at `refs` (`sizes` long), in that order."""
        out: list[bytes] = [b""] * len(refs)
        by_block: dict[int, list[int]] = {}
        held = self._held
        for pos, ref in enumerate(refs):
            if held and ref in held:
                out[pos] = held[ref]
            else:
                by_block.setdefault(ref >> _ORDINAL_BITS, []).append(pos)
        for n in sorted(by_block):
            b = self._blocks[n]
            payload = self._reader.payload(b)
            if payload is None:
                raise SpoolChanged(f"{self.path}: a block read before is now damaged")
            ends = self._ends.get(n)
            if ends is None:
                ends = self._ends[n] = _record_ends(payload, b.records, self.path)
            for pos in by_block[n]:
                i = refs[pos] & _ORDINAL_MASK
                # a PUT_FULL record ends with its version's bytes (msgpack bin, its last item)
                end = ends[i]
                out[pos] = payload[end - sizes[pos] : end]
        return out

    def close(self) -> None:
        """Close the file."""
        self._reader.close()

    def __enter__(self) -> SpoolFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record_ends(payload: bytes, count: int, path: Path) -> array[int]:
    """Where each of a block's `count` records ends (skipped, never decoded)."""
    unpacker = msgpack.Unpacker(max_buffer_size=max(len(payload), 1))
    unpacker.feed(payload)
    ends = array("Q")
    try:
        for _ in range(count):
            unpacker.skip()
            ends.append(unpacker.tell())
    except (msgpack.OutOfData, msgpack.UnpackException, ValueError) as err:
        raise SpoolChanged(f"{path}: a block read before no longer decodes ({err})") from None
    return ends
