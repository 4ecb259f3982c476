"""Writing what a TemporalMap holds into a segmented recording (for tests, demos and tools
that have a map, not a cluster): every change in time order, as a session's recorder would."""

from __future__ import annotations

from khronoscope.core.source import HistorySource
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.segments.writer import SegmentedWriter


def write_source(source: HistorySource, writer: SegmentedWriter, start: int) -> None:
    """Every change of `source.tmap`, then its types, watch status, gaps and bookmarks."""
    tmap = source.tmap
    writer.set_types(start, source.resource_types().values())
    for name, status in sorted(source.type_status().items()):
        writer.append_status(status.since, name, status)
    for ref in tmap.changes():
        obj = None if ref.kind is ChangeKind.DELETED else tmap.get(ref.key, ref.t)
        writer.append_change(Change(ref.t, ref.key, ref.kind, obj))
    for gap in source.gaps():
        writer.append_gap(gap)
    for b in source.bookmarks():
        writer.add_bookmark(b, created=b.t)
