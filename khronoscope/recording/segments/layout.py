"""Names of the objects of a format-2 recording inside its BlobStore.

A segment's name carries its sequence number, time range and whether it is a base, so listing
the store is already a coarse index (one LIST call on S3 for a thousand segments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = "header"
SEGMENTS = "segments/"
ROLLUPS = "index/"
DICTS = "dicts/"
# history imported from audit logs (`import audit --into`): a format-1 recording, written once
AUDIT_COMPANION = "companion/audit.khr"
WAL_DIR = "wal"  # a local recording's spool of open segments (a directory, not objects)
WAL_SUFFIX = ".wal"

_SEGMENT = re.compile(r"^segments/(\d{10})-(\d+)-(\d+)(-b)?\.seg$")
_ROLLUP = re.compile(r"^index/(\d{10})-(\d{10})\.idx$")
_WAL = re.compile(r"^(\d{10})\.wal$")


@dataclass(frozen=True, slots=True)
class SegmentName:
    """What a segment's object name says about it."""

    seq: int
    first_t: int
    last_t: int
    base: bool

    @property
    def name(self) -> str:
        """The object name."""
        return segment_name(self.seq, self.first_t, self.last_t, self.base)


def segment_name(seq: int, first_t: int, last_t: int, base: bool) -> str:
    """`segments/0000000042-<first_t>-<last_t>[-b].seg`."""
    return f"{SEGMENTS}{seq:010d}-{max(first_t, 0)}-{max(last_t, 0)}{'-b' if base else ''}.seg"


def parse_segment(name: str) -> SegmentName | None:
    """The parts of a segment's object name; None for any other name."""
    m = _SEGMENT.match(name)
    if m is None:
        return None
    return SegmentName(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) is not None)


def rollup_name(first_seq: int, last_seq: int) -> str:
    """`index/<first>-<last>.idx`: the summaries of segments first..last."""
    return f"{ROLLUPS}{first_seq:010d}-{last_seq:010d}.idx"


def parse_rollup(name: str) -> tuple[int, int] | None:
    """(first seq, last seq) of a roll-up index object's name."""
    m = _ROLLUP.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def dict_name(digest: str) -> str:
    """A shared zstd dictionary, named by its content's hash."""
    return f"{DICTS}{digest}.zdict"


def wal_file(seq: int) -> str:
    """The spool file of open segment `seq` (in the WAL directory)."""
    return f"{seq:010d}{WAL_SUFFIX}"


def parse_wal(name: str) -> int | None:
    """The sequence number of a spool file's name."""
    m = _WAL.match(name)
    return int(m.group(1)) if m else None
