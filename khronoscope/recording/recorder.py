"""Keeping a recording in step with a live source, for `khronoscope record` and the live app.

`Recorder` needs only what a cluster session offers (duck-typed, so this layer imports nothing
from `cluster/`): `add_sink(callable(Change))`, `add_gap_listener(callable(Gap))`,
`add_listener(callable())`, `resource_types()`, `type_status()`, `bookmarks()`, `info`.
Changes and gaps are written as they happen; types, watch status and bookmarks are compared
after each batch and written when they differ from what the file has. When the source captures
pod logs and metrics (`logs` / `metrics` stores), every line and sample it stores is written too.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from khronoscope.core.provenance import RECONSTRUCTED, Provenance, provenance_of
from khronoscope.core.source import Bookmark, Gap, SourceInfo, TypeStatus, logs_of, metrics_of
from khronoscope.core.timefmt import NS, now_ns
from khronoscope.core.types import Change, ObjectKey, ResourceType
from khronoscope.recording.writer import RecordingStopped, WriterStats


class LiveSource(Protocol):
    """What the recorder needs from a live session."""

    info: SourceInfo

    def add_sink(self, sink: Callable[[Change], None]) -> None: ...
    def add_gap_listener(self, listener: Callable[[Gap], None]) -> None: ...
    def add_listener(self, listener: Callable[[], None]) -> None: ...
    def resource_types(self) -> dict[str, ResourceType]: ...
    def type_status(self) -> dict[str, TypeStatus]: ...
    def bookmarks(self) -> list[Bookmark]: ...


class CompactOutcome(Protocol):
    """What a retention pass reports (format 1 rewrites the file, format 2 deletes segments)."""

    compacted: bool
    start_t: int | None
    dropped_changes: int
    old_size: int
    new_size: int


class RecordingSink(Protocol):
    """What the recorder writes to: a segmented writer, or a format-1 RecordingWriter."""

    path: Path
    stats: WriterStats
    failed: RecordingStopped | None
    closed: bool

    def append_change(self, change: Change) -> None: ...
    def append_gap(self, gap: Gap) -> None: ...
    def append_log(self, t: int, namespace: str, pod: str, container: str, line: str) -> None: ...
    def append_log_note(
        self, t: int, namespace: str, pod: str, container: str, text: str
    ) -> None: ...
    def append_metric(self, t: int, key: ObjectKey, values: dict[str, float | int]) -> None: ...
    def append_status(self, t: int, type_name: str, status: TypeStatus) -> None: ...
    def set_types(self, t: int, types: Iterable[ResourceType]) -> None: ...
    def add_bookmark(self, bookmark: Bookmark, created: int | None = None) -> None: ...
    def remove_bookmark(self, bookmark_id: int, t: int | None = None) -> None: ...
    def compact(
        self, max_age: int | None = None, max_size: int | None = None, slack: float = 0.0
    ) -> CompactOutcome: ...


@dataclass(frozen=True, slots=True)
class Retention:
    """Limits of `record --max-age/--max-size`, and how often to apply them."""

    max_age: int | None = None
    max_size: int | None = None
    every: float = 600.0  # seconds between checks
    # a compaction rewrites the file: wait until 10% of the age limit is due, and cut 10% under
    # the size limit, so it happens now and then, not at every check
    slack: float = 0.1


def default_recording_path(context: str, start: int | None = None) -> Path:
    """Where the live app records by default: the user's data dir (XDG), one file per run."""
    start = now_ns() if start is None else start
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start / NS))
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in context) or "cluster"
    return Path(platformdirs.user_data_dir("khronoscope")) / "recordings" / f"{safe}-{stamp}.khr"


class Recorder:
    """Writes what a live source stores into a recording, and reports its progress."""

    def __init__(
        self,
        source: LiveSource,
        writer: RecordingSink,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], int] = now_ns,
    ) -> None:
        self.source = source
        self.writer = writer
        self.retention = retention
        self._clock = clock
        self._now = now
        self._types: dict[str, ResourceType] = {}
        self._status: dict[str, tuple[Any, ...]] = {}
        self._bookmarks: dict[int, tuple[int, str, Any]] = {}
        self._last_retention = clock()
        self._size_after_compaction = 0
        self._rate_mark = (clock(), 0)
        self.rate = 0.0
        self.last_compaction: CompactOutcome | None = None

    def attach(self) -> None:
        """Start following the source (call before it starts delivering changes)."""
        self.source.add_sink(self._change)
        self.source.add_gap_listener(self._gap)
        self.source.add_listener(self.sync)
        logs = logs_of(self.source)
        if logs is not None:
            logs.add_sink(self._log_line)
            logs.add_note_sink(self._log_note)
        metrics = metrics_of(self.source)
        if metrics is not None:
            metrics.add_sink(self._metric_sample)
        provenance = provenance_of(self.source)
        if provenance is not None:
            provenance.add_sink(self._provenance)
        self.sync()

    def _writing(self) -> bool:
        return self.writer.failed is None and not self.writer.closed

    # once the writer has failed (disk full), `writer.failed` says so once, to whoever watches
    # it; raising into the session on every change would only repeat it
    def _change(self, change: Change) -> None:
        if self._writing():
            with contextlib.suppress(RecordingStopped):
                self.writer.append_change(change)

    def _provenance(self, entry: Provenance, content: dict[str, Any] | None) -> None:
        if self._writing():
            with contextlib.suppress(RecordingStopped):
                if content is not None and entry.origin == RECONSTRUCTED:
                    self.writer.append_reconstructed(entry.t, entry.key, content)
                self.writer.append_provenance(entry)

    def _gap(self, gap: Gap) -> None:
        if self._writing():
            with contextlib.suppress(RecordingStopped):
                self.writer.append_gap(gap)

    def _log_line(self, namespace: str, pod: str, container: str, t: int, text: str) -> None:
        if self._writing():
            with contextlib.suppress(RecordingStopped):
                self.writer.append_log(t, namespace, pod, container, text)

    def _log_note(self, namespace: str, pod: str, container: str, t: int, text: str) -> None:
        if self._writing():
            with contextlib.suppress(RecordingStopped):
                self.writer.append_log_note(t, namespace, pod, container, text)

    def _metric_sample(
        self,
        t: int,
        key: ObjectKey,
        cpu: int,
        memory: int,
        containers: dict[str, tuple[int, int]],
    ) -> None:
        if not self._writing():
            return
        # the format's convention: cpu in cores, memory in bytes; containers as cpu/NAME
        values: dict[str, float | int] = {"cpu": cpu / 1e9, "memory": memory}
        for name, (c_cpu, c_mem) in containers.items():
            values[f"cpu/{name}"] = c_cpu / 1e9
            values[f"memory/{name}"] = c_mem
        with contextlib.suppress(RecordingStopped):
            self.writer.append_metric(t, key, values)

    def sync(self) -> None:
        """Write types, watch status and bookmarks that changed since the last call."""
        if self.writer.failed is not None or self.writer.closed:
            return
        with contextlib.suppress(RecordingStopped):
            self._sync()

    def _sync(self) -> None:
        t = self._now()
        types = self.source.resource_types()
        if types != self._types:
            self.writer.set_types(t, types.values())
            self._types = dict(types)
        for name, status in self.source.type_status().items():
            # counts move on every change: only a state or error change is worth a record
            sig = (status.state, status.error)
            if self._status.get(name) != sig:
                self.writer.append_status(t, name, status)
                self._status[name] = sig
        current = {b.id: (b.t, b.label, b.key) for b in self.source.bookmarks()}
        for bid, (bt, label, key) in current.items():
            if self._bookmarks.get(bid) != (bt, label, key):
                self.writer.add_bookmark(Bookmark(bt, label, key, bid))
        for bid in self._bookmarks.keys() - current.keys():
            self.writer.remove_bookmark(bid, t)
        self._bookmarks = current

    def tick(self) -> CompactOutcome | None:
        """Call about once a second: updates the rate, stops the recording when its file was
        deleted or moved away (`writer.failed` says so), and applies retention when due."""
        if self.writer.check_path() is not None:
            return None
        now = self._clock()
        mark_t, mark_n = self._rate_mark
        if now - mark_t >= 1.0:
            self.rate = (self.writer.stats.changes - mark_n) / (now - mark_t)
            self._rate_mark = (now, self.writer.stats.changes)
        r = self.retention
        if r is None or (r.max_age is None and r.max_size is None):
            return None
        over = r.max_size is not None and self.writer.stats.bytes > max(
            r.max_size, self._size_after_compaction * 1.05
        )
        if now - self._last_retention < r.every and not over:
            return None
        self._last_retention = now
        self.last_compaction = self.writer.compact(r.max_age, r.max_size, r.slack)
        # a file that cannot get under the limit (its newest data alone is bigger) is not
        # checked again every second
        self._size_after_compaction = self.writer.stats.bytes
        return self.last_compaction

    def status_line(self, label: str | None = None) -> str:
        """`recording FILE: N types watched, X changes/s, N changes, SIZE` (`label`: a URL
        to show instead of the writer's path)."""
        s = self.writer.stats
        watched = len(self._types) or len(s.types)
        return (
            f"recording {label or self.writer.path}: {watched} types watched, "
            f"{self.rate:,.1f} changes/s, {s.changes:,} changes, {_size(s.bytes)}"
        )


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def ensure_parent(path: Path) -> None:
    """Create the directory a recording goes to (private: recordings hold cluster state)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, path.parent.stat().st_mode | 0o700)
