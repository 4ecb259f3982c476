"""The recorder's figures, in one private Prometheus registry that the recorder's parts fill.

prometheus_client does the exposition format (escaping, types, `_total` suffixes); the registry
is our own instance, never the process-wide default, so tests and several recorders in one
process do not share counters. Parts that come later (the segment writer) add their figures
through the same object: `segment_written(...)` is already there for it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from khronoscope.core.source import Gap, TypeState, TypeStatus
from khronoscope.core.types import Change, ChangeKind

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def server_write_time(obj: dict[str, Any] | None) -> float | None:
    """When the API server last wrote this object (the newest managedFields time, 1 s
    resolution), as a Unix time; None when the object carries none."""
    if not obj:
        return None
    fields = (obj.get("metadata") or {}).get("managedFields") or []
    newest = None
    for entry in fields:
        stamp = entry.get("time") if isinstance(entry, dict) else None
        if isinstance(stamp, str) and (newest is None or stamp > newest):
            newest = stamp
    if newest is None:
        return None
    try:
        return datetime.datetime.fromisoformat(newest).timestamp()
    except ValueError:
        return None


class _Live(Collector):
    """Gauges read at scrape time from the parts that own them (no copies kept in step)."""

    def __init__(self) -> None:
        self.type_status: Callable[[], dict[str, TypeStatus]] | None = None
        self.upload: Callable[[], Any] | None = None
        self.recording_bytes: Callable[[], int] | None = None

    def collect(self) -> Iterator[Metric]:
        """The live gauges, read now."""
        if self.type_status is not None:
            synced = GaugeMetricFamily(
                "khronoscope_watch_live",
                "1 when the watch of a resource type is live (listed and following)",
                labels=["type"],
            )
            objects = GaugeMetricFamily(
                "khronoscope_objects", "Objects of a resource type now", labels=["type"]
            )
            for name, st in sorted(self.type_status().items()):
                synced.add_metric([name], 1.0 if st.state is TypeState.LIVE else 0.0)
                objects.add_metric([name], float(st.objects))
            yield synced
            yield objects
        if self.upload is not None:
            s = self.upload()
            yield GaugeMetricFamily(
                "khronoscope_upload_backlog_bytes",
                "Bytes spooled on local disk, waiting for the object store",
                value=s.backlog_bytes,
            )
            yield GaugeMetricFamily(
                "khronoscope_upload_backlog_objects",
                "Objects spooled on local disk, waiting for the object store",
                value=s.backlog_objects,
            )
        if self.recording_bytes is not None:
            yield GaugeMetricFamily(
                "khronoscope_recording_bytes",
                "Bytes of the recording",
                value=self.recording_bytes(),
            )


class RecorderMetrics:
    """Counters and gauges of one recorder; `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.changes = Counter(
            "khronoscope_changes", "Changes ingested, per resource type", ["type"], registry=r
        )
        self.gaps = Counter(
            "khronoscope_gaps",
            "Intervals in which changes of a type may have been missed (watch lost, 410 Gone)",
            ["type"],
            registry=r,
        )
        self.watch_lag = Gauge(
            "khronoscope_watch_lag_seconds",
            "Time from the API server's write of an object (managedFields) to its arrival here, "
            "last modification seen per type (1 s resolution)",
            ["type"],
            registry=r,
        )
        self.errors = Counter(
            "khronoscope_errors",
            "Errors, per kind (write, upload, lease, retention)",
            ["kind"],
            registry=r,
        )
        self.segments_written = Counter(
            "khronoscope_segments_written", "Segments sealed", registry=r
        )
        self.segment_bytes_written = Counter(
            "khronoscope_segment_bytes_written", "Bytes of sealed segments", registry=r
        )
        self.segments_uploaded = Counter(
            "khronoscope_segments_uploaded", "Objects uploaded to the object store", registry=r
        )
        self.upload_failures = Counter(
            "khronoscope_upload_failures",
            "Failed upload attempts (each is retried)",
            registry=r,
        )
        self.upload_dropped = Counter(
            "khronoscope_upload_dropped",
            "Spooled objects dropped because the spool was full during an outage",
            registry=r,
        )
        self._live = _Live()
        r.register(self._live)

    # --- what the recorder's parts call ----------------------------------------------------------

    def attach_source(self, source: Any) -> None:
        """Follow a live session: `add_sink`, `add_gap_listener`, `type_status` (duck-typed as
        the Recorder does, so this module imports nothing from cluster/)."""
        source.add_sink(self.on_change)
        source.add_gap_listener(self.on_gap)
        self._live.type_status = source.type_status

    def attach_uploader(self, stats: Callable[[], Any]) -> None:
        """Read the upload backlog at scrape time (an Uploader's `stats`)."""
        self._live.upload = stats

    def attach_recording_size(self, size: Callable[[], int]) -> None:
        """Read the recording's size at scrape time."""
        self._live.recording_bytes = size

    def on_change(self, change: Change) -> None:
        """One change ingested (a session sink: keep it cheap)."""
        self.changes.labels(change.key.type).inc()
        if change.kind is ChangeKind.MODIFIED:
            written = server_write_time(change.obj)
            if written is not None:
                self.watch_lag.labels(change.key.type).set(max(0.0, change.t / 1e9 - written))

    def on_gap(self, gap: Gap) -> None:
        """A gap closed."""
        self.gaps.labels(gap.type).inc()

    def error(self, kind: str) -> None:
        """An error of one kind (write, upload, lease, retention)."""
        self.errors.labels(kind).inc()

    def segment_written(self, size: int) -> None:
        """The segment writer sealed a segment of `size` bytes."""
        self.segments_written.inc()
        self.segment_bytes_written.inc(size)

    def uploaded(self, _name: str, _size: int) -> None:
        """An object reached the store (an Uploader's `on_uploaded`)."""
        self.segments_uploaded.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of everything above."""
        return generate_latest(self.registry)
