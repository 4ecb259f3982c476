"""Writing what a TemporalMap holds into a segmented recording (for tests, demos and tools
that have a map, not a cluster): every change in time order, as a session's recorder would."""

from __future__ import annotations

from khronoscope.core.source import HistorySource, logs_of, metrics_of
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.segments.writer import SegmentedWriter


def write_source(source: HistorySource, writer: SegmentedWriter, start: int) -> None:
    """Every change of `source.tmap`, then its types, watch status, gaps, bookmarks, and the
    pod logs and metrics it keeps."""
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
    logs = logs_of(source)
    if logs is not None:
        for ns, pod in logs.pods():
            for container in logs.containers(ns, pod):
                for line in logs.lines(ns, pod, container):
                    writer.append_log(line.t, ns, pod, container, line.text)
                for note in logs.notes(ns, pod, container):
                    writer.append_log_note(note.t, ns, pod, container, note.text)
    metrics = metrics_of(source)
    if metrics is not None:
        for key in metrics.keys():  # noqa: SIM118 (a method, not a dict)
            per_container = {c: metrics.series(key, c) for c in metrics.containers(key)}
            for sample in metrics.series(key):
                values: dict[str, float | int] = {"cpu": sample.cpu / 1e9, "memory": sample.memory}
                for name, series in per_container.items():
                    for c in series:
                        if c.t == sample.t:
                            values[f"cpu/{name}"] = c.cpu / 1e9
                            values[f"memory/{name}"] = c.memory
                writer.append_metric(sample.t, key, values)
