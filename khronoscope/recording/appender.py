"""What every recording writer appends the same way: one record per call, and the buffer of
records that becomes the next block.

`RecordAppender` holds the appends that are not object versions (logs, metrics, bookmarks,
gaps, watch status, types, identity, provenance, reconstructed versions) for both writers:
format 1's RecordingWriter (which also keeps what its keyframes repeat, through the `_kept_*`
hooks) and format 2's SegmentedWriter. `RecordBuffer` is the records waiting for their block,
shared by the format-1 file and a format-2 spool (both write format-1 blocks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from khronoscope.core.provenance import Provenance
from khronoscope.core.source import Bookmark, Gap, TypeStatus
from khronoscope.core.timefmt import now_ns
from khronoscope.core.types import Change, ObjectKey, ResourceType
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec


def status_record(t: int, type_name: str, s: TypeStatus) -> list[Any]:
    """The STATUS record of a type's watch status."""
    return [fmt.STATUS, t, type_name, s.state.value, s.error, s.objects, s.changes]


def types_record(t: int, types: Iterable[ResourceType]) -> list[Any]:
    """The TYPES record of the resource types discovered."""
    return [fmt.TYPES, t, [rec.type_to_list(rt) for rt in types]]


class RecordAppender:
    """The appends of a recording writer that are one record each; thread-safe through the
    writer's lock. A writer supplies `append_change`, `_check` (raise when it has stopped)
    and `_add` (buffer one record)."""

    _lock: threading.RLock

    def append_change(self, change: Change) -> None:
        """Record one change (the object as the session stored it)."""
        raise NotImplementedError

    def _check(self) -> None:
        """Raise RecordingStopped when the writer can no longer write."""
        raise NotImplementedError

    def _add(self, record: list[Any], t: int, change: bool = False) -> None:
        """Buffer one record (its time `t`; `change`: an object version or delete)."""
        raise NotImplementedError

    def _append(self, record: list[Any], t: int, kept: Callable[[], None] | None = None) -> None:
        with self._lock:
            self._check()
            if kept is not None:
                kept()
            self._add(record, t)

    # hooks: what a writer keeps of the records it appends (format 1 repeats it in keyframes)
    def _kept_bookmark(self, bookmark: Bookmark, created: int) -> None:
        """A bookmark was recorded."""

    def _kept_bookmark_removed(self, bookmark_id: int) -> None:
        """A bookmark's deletion was recorded."""

    def _kept_gap(self, gap: Gap) -> None:
        """A gap was recorded."""

    def _kept_status(self, t: int, type_name: str, status: TypeStatus) -> None:
        """A type's watch status was recorded."""

    def _kept_types(self, t: int, types: list[ResourceType]) -> None:
        """The set of resource types was recorded."""

    def _kept_info(self, values: dict[str, Any]) -> None:
        """Identity facts were recorded."""

    def append_changes(self, changes: Iterable[Change]) -> None:
        """Record several changes in order."""
        for change in changes:
            self.append_change(change)

    def sink(self) -> Callable[[Change], None]:
        """A callable for `session.add_sink`."""
        return self.append_change

    def append_provenance(self, entry: Provenance) -> None:
        """Record who made the version of an object at `entry.t` (or a mark on it): a
        PROVENANCE record, which readers that do not know it skip."""
        self._append(rec.provenance_record(entry), entry.t)

    def append_reconstructed(self, t: int, key: ObjectKey, obj: dict[str, Any]) -> None:
        """Record a version rebuilt from what the cluster remembers, older than the versions
        recorded of `key`: a RECONSTRUCTED record, kept beside the versions, never among them."""
        raw = rec.pack(obj)
        self._append([fmt.RECONSTRUCTED, t, key.type, key.namespace, key.name, raw], t)

    def add_bookmark(self, bookmark: Bookmark, created: int | None = None) -> None:
        """Record a bookmark (or its new label when the id was recorded before)."""
        made = now_ns() if created is None else created
        self._append(
            rec.bookmark_record(fmt.BOOKMARK, bookmark, made),
            bookmark.t,
            lambda: self._kept_bookmark(bookmark, made),
        )

    def remove_bookmark(self, bookmark_id: int, t: int | None = None) -> None:
        """Record that a bookmark was deleted."""
        at = now_ns() if t is None else t
        record = [fmt.BOOKMARK_DEL, at, bookmark_id]
        self._append(record, at, lambda: self._kept_bookmark_removed(bookmark_id))

    def append_log(self, t: int, namespace: str, pod: str, container: str, line: str) -> None:
        """Record one log line of a pod's container (t: the server's timestamp)."""
        self._append([fmt.LOG, t, namespace, pod, container, line], t)

    def append_log_note(self, t: int, namespace: str, pod: str, container: str, text: str) -> None:
        """Record a note shown among a container's lines (a restart, lines lost)."""
        self._append([fmt.LOG_NOTE, t, namespace, pod, container, text], t)

    def append_metric(self, t: int, key: ObjectKey, values: dict[str, float | int]) -> None:
        """Record one metrics sample of an object (e.g. cpu and memory of a pod)."""
        self._append([fmt.METRIC, t, key.type, key.namespace, key.name, values], t)

    def append_gap(self, gap: Gap) -> None:
        """Record an interval in which changes of a type may have been missed."""
        self._append(
            [fmt.GAP, gap.start, gap.end, gap.type, gap.reason],
            gap.start,
            lambda: self._kept_gap(gap),
        )

    def append_status(self, t: int, type_name: str, status: TypeStatus) -> None:
        """Record a type's watch status."""
        self._append(
            status_record(t, type_name, status),
            t,
            lambda: self._kept_status(t, type_name, status),
        )

    def set_types(self, t: int, types: Iterable[ResourceType]) -> None:
        """Record the resource types discovered (the whole set, replacing the previous one)."""
        unique = list({rt.name: rt for rt in types}.values())
        self._append(types_record(t, unique), t, lambda: self._kept_types(t, unique))

    def set_info(self, t: int, values: dict[str, Any]) -> None:
        """Record facts learnt after the header was written (e.g. a server version change)."""
        self._append([fmt.INFO, t, values], t, lambda: self._kept_info(values))


class RecordBuffer:
    """Packed records waiting to be written as one block: their bytes, counts, and the range
    of their times (what the block header says)."""

    __slots__ = (
        "changes",
        "first",
        "last",
        "last_change",
        "parts",
        "raw_bytes",
        "records",
        "since",
    )

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.raw_bytes = 0
        self.records = 0
        self.changes = 0
        self.first = 0
        self.last = 0
        self.last_change: int | None = None  # the newest change buffered
        self.since = 0.0  # monotonic time of the oldest record buffered

    def __bool__(self) -> bool:
        return bool(self.parts)

    def add(self, data: bytes, t: int, change: bool) -> None:
        """Buffer one packed record of time `t`."""
        if not self.parts:
            self.first = self.last = t
            self.since = time.monotonic()
        else:
            self.first = min(self.first, t)
            self.last = max(self.last, t)
        self.parts.append(data)
        self.raw_bytes += len(data)
        self.records += 1
        if change:
            self.changes += 1
            if self.last_change is None or t > self.last_change:
                self.last_change = t

    def due(self, interval: float) -> bool:
        """True when the oldest record buffered is `interval` seconds old."""
        return bool(self.parts) and time.monotonic() - self.since >= interval

    def clear(self) -> None:
        """Forget what is buffered (written, or lost with a failed write)."""
        self.parts = []
        self.raw_bytes = self.records = self.changes = 0
        self.last_change = None
