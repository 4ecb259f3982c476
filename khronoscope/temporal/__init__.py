"""The store of the cluster's past: pure Python, no I/O, no Kubernetes client, no UI."""

from khronoscope.temporal.chain import KeyframePolicy
from khronoscope.temporal.cursor import Cursor, CursorDelta, CursorRows
from khronoscope.temporal.map import Backfill, ChangeRef, MemoryStats, TemporalMap

__all__ = [
    "Backfill",
    "ChangeRef",
    "Cursor",
    "CursorDelta",
    "CursorRows",
    "KeyframePolicy",
    "MemoryStats",
    "TemporalMap",
]
