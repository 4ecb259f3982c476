"""Turning records back into object versions and the things around them.

`ObjectReplay` keeps the version in force of every object (its time and msgpack bytes) and applies
change records to it, decoding deltas against the previous version. A delta whose previous version
was lost (in a damaged block) fails its zstd checksum: the object is marked broken and its versions
are counted as lost (in a `LossTally`) until a full version or a keyframe brings it back. A
keyframe after damage brings the state in line (`reconcile`) without inventing changes: a version
read back from it keeps its true time and is marked restored; an object gone by then is removed
at the keyframe's time and marked corrected.
`Extras` collects bookmarks, gaps, watch status, types, info, log lines, metric samples and the
time the recorder stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zstandard as zstd

from khronoscope.core.provenance import Provenance
from khronoscope.core.source import Bookmark, Gap, TypeStatus
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.loss import LossTally
from khronoscope.recording.reader import BlockInfo, Keyframe, RecordingReader

PutFn = Callable[[ObjectKey, int, bytes], Any]
DeleteFn = Callable[[ObjectKey, int], Any]
Version = tuple[int, bytes]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log line of a pod's container, stamped by the server."""

    t: int
    namespace: str
    pod: str
    container: str
    line: str


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One metrics sample of an object (cpu in cores, memory in bytes, or what the source sent)."""

    t: int
    key: ObjectKey
    values: dict[str, float | int]


@dataclass(slots=True)
class Extras:
    """Everything a recording holds besides objects."""

    bookmarks: dict[int, Bookmark] = field(default_factory=dict)
    bookmark_created: dict[int, int] = field(default_factory=dict)
    max_bookmark_id: int = 0
    gaps: dict[tuple[int, int, str, str], Gap] = field(default_factory=dict)
    status: dict[str, TypeStatus] = field(default_factory=dict)
    types: dict[str, ResourceType] = field(default_factory=dict)
    types_t: int = -1
    info: dict[str, Any] = field(default_factory=dict)
    logs: list[LogLine] = field(default_factory=list)
    log_notes: list[LogLine] = field(default_factory=list)  # `line` holds the note's text
    metrics: list[MetricSample] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    # (key, t, msgpack bytes) of versions rebuilt from what the cluster remembered
    reconstructed: list[tuple[ObjectKey, int, bytes]] = field(default_factory=list)
    keys: dict[ObjectKey, ObjectKey] = field(default_factory=dict)  # one key object per object
    stop_t: int | None = None  # when the recorder stopped (a CLOSE record)

    def apply(self, r: list[Any], series: bool = True) -> None:
        """Apply one non-object record (log lines and metrics only when `series`)."""
        kind = r[0]
        if kind == fmt.LOG:
            if series:
                self.logs.append(LogLine(r[1], r[2], r[3], r[4], r[5]))
        elif kind == fmt.LOG_NOTE:
            if series:
                self.log_notes.append(LogLine(r[1], r[2], r[3], r[4], r[5]))
        elif kind == fmt.METRIC:
            if series:
                self.metrics.append(MetricSample(r[1], ObjectKey(r[2], r[3], r[4]), r[5]))
        elif kind == fmt.BOOKMARK:
            b = rec.bookmark_from(r)
            self.bookmarks[b.id] = b
            self.bookmark_created[b.id] = r[5]
            self.max_bookmark_id = max(self.max_bookmark_id, b.id)
        elif kind == fmt.BOOKMARK_DEL:
            self.bookmarks.pop(r[2], None)
        elif kind == fmt.GAP:
            g = rec.gap_from(r)
            self.gaps[(g.start, g.end, g.type, g.reason)] = g
        elif kind == fmt.STATUS:
            name, status = rec.status_from(r)
            old = self.status.get(name)
            if old is None or status.since >= old.since:
                self.status[name] = status
        elif kind == fmt.TYPES:
            if r[1] >= self.types_t:
                self.types = {rt.name: rt for rt in map(rec.type_from_list, r[2])}
                self.types_t = r[1]
        elif kind == fmt.INFO:
            self.info.update(r[2])
        elif kind == fmt.CLOSE:
            self.stop_t = r[1] if self.stop_t is None else max(self.stop_t, r[1])
        elif kind == fmt.PROVENANCE:
            entry = rec.provenance_from(r, self.keys)
            if entry is not None:
                self.provenance.append(entry)
        elif kind == fmt.RECONSTRUCTED:
            self.reconstructed.append((ObjectKey(r[2], r[3], r[4]), r[1], r[5]))

    def add_gap(self, gap: Gap) -> None:
        """Add a gap (idempotent)."""
        self.gaps[(gap.start, gap.end, gap.type, gap.reason)] = gap

    def gap_list(self) -> list[Gap]:
        """Gaps oldest first."""
        return sorted(self.gaps.values(), key=lambda g: (g.start, g.end, g.type))

    def bookmark_list(self) -> list[Bookmark]:
        """Bookmarks by time."""
        return sorted(self.bookmarks.values(), key=lambda b: (b.t, b.id))


class ObjectReplay:
    """The version in force of every object while records are applied in file order."""

    def __init__(
        self,
        state: dict[ObjectKey, Version] | None = None,
        on_put: PutFn | None = None,
        on_delete: DeleteFn | None = None,
        tally: LossTally | None = None,
    ) -> None:
        self.state: dict[ObjectKey, Version] = dict(state or {})
        self.on_put = on_put
        self.on_delete = on_delete
        self.tally = tally if tally is not None else LossTally()
        self._checker = rec.ObjectChecker()
        self.broken: set[ObjectKey] = set()
        self.lost_versions = 0
        self.changes = 0
        self.last_t: int | None = max((v[0] for v in self.state.values()), default=None)

    def apply(self, r: list[Any]) -> None:
        """Apply one change record (PUT_FULL, PUT_DELTA or DELETE)."""
        kind, t = r[0], r[1]
        key = ObjectKey(r[2], r[3], r[4])
        self.changes += 1
        if self.last_t is None or t > self.last_t:
            self.last_t = t
        if kind == fmt.DELETE:
            self.broken.discard(key)
            if self.state.pop(key, None) is not None:
                if self.on_delete is not None:
                    self.on_delete(key, t)
            else:
                self._lose(key, t)  # its creation was lost: a delete of nothing shows nothing
            return
        prev = self.state.get(key)
        if kind == fmt.PUT_FULL:
            raw = r[5]
        else:
            if prev is None or key in self.broken:
                self._lose(key, t, broken=True)
                return
            try:
                raw = rec.delta_decode(prev[1], r[5])
            except zstd.ZstdError:
                self._lose(key, t, broken=True)
                return
        if not self._checker.valid(raw):
            self._lose(key, t, broken=True)
            return
        self.broken.discard(key)
        self.state[key] = (t, raw)
        if prev is not None and prev[1] == raw:
            # a writer never writes the version in force: the one held here is stale (what
            # came in between was lost), and this version cannot be told apart from it
            self._lose(key, t)
            return
        if self.on_put is not None:
            self.on_put(key, t, raw)

    def _lose(self, key: ObjectKey, t: int, broken: bool = False) -> None:
        if broken:
            self.broken.add(key)
        self.lost_versions += 1
        self.tally.lost(key, t)

    def resync(self, t: int, entries: dict[ObjectKey, Version], initial: bool = False) -> int:
        """Bring the state in line with a keyframe at t (after damage); returns fixes made.

        `initial`: the keyframe is where the file's state starts (nothing came before it), so
        what it brings is no recovery.
        """
        gone, puts = reconcile(self.state, entries)
        for key in gone:
            del self.state[key]
            if not initial:
                self.tally.correct(key, t)
            if self.on_delete is not None:
                self.on_delete(key, t)
        for key, vt, raw in puts:
            when = t if vt is None else vt
            self.state[key] = (when, raw)
            if initial:
                pass
            elif vt is None:
                self.tally.correct(key, t)
            else:
                self.tally.recover(key, vt)
            if self.on_put is not None:
                self.on_put(key, when, raw)
        self.broken.clear()
        return len(gone) + len(puts)


def reconcile(
    state: dict[ObjectKey, Version], entries: dict[ObjectKey, Version]
) -> tuple[list[ObjectKey], list[tuple[ObjectKey, int | None, bytes]]]:
    """What a keyframe's entries change in a replay's state: the objects gone by then (their
    deletes were lost), and the versions to put: (key, time the version began, bytes), the time
    None when the keyframe's own time must do (a version older than the one held, which only a
    file whose times go backwards can have)."""
    gone = [key for key in state if key not in entries]
    puts: list[tuple[ObjectKey, int | None, bytes]] = []
    for key, (vt, raw) in entries.items():
        cur = state.get(key)
        if cur is not None and cur[1] == raw:
            continue
        puts.append((key, vt if cur is None or vt > cur[0] else None, raw))
    return gone, puts


def read_keyframe(
    reader: RecordingReader, kf: Keyframe, extras: Extras | None = None
) -> dict[ObjectKey, Version] | None:
    """The objects of a keyframe (its other records go to `extras`); None if a part is damaged,
    missing or out of order (its KF_BEGIN counts the objects every part holds together)."""
    entries: dict[ObjectKey, Version] = {}
    # after retention, versions that began before the new start begin at it (as in the first
    # keyframe retention wrote): keyframes copied from before still name the older times
    floor = reader.floor_t
    found: list[list[Any]] = []
    for b in kf.blocks:
        records = reader.records(b)
        if reader.is_bad(b):
            return None
        found.extend(records)
    if not found or found[0][0] != fmt.KF_BEGIN:
        reader.report_bad(kf.blocks[0], "keyframe parts missing or out of order")
        return None
    expected = found[0][2]
    checker = rec.ObjectChecker()
    for r in found:
        if r[0] == fmt.KF_OBJECT:
            if not checker.valid(r[5]):
                reader.report_bad(kf.blocks[0], "keyframe holds an object that does not decode")
                return None
            t = r[1] if floor is None or r[1] >= floor else floor
            entries[ObjectKey(r[2], r[3], r[4])] = (t, r[5])
    if len(entries) != expected:
        reader.report_bad(kf.blocks[0], "keyframe parts missing or out of order")
        return None
    if extras is not None:
        for r in found:
            if r[0] == fmt.KF_BEGIN:
                extras.max_bookmark_id = max(extras.max_bookmark_id, r[4])
            elif r[0] != fmt.KF_OBJECT:
                extras.apply(r, series=False)
    return entries


def damage_gap(reader: RecordingReader, i: int, what: str) -> Gap:
    """The interval a damaged block (reader.blocks[i]) covers, as a gap of every type."""
    b = reader.blocks[i]
    start, end = b.first_t, b.last_t
    return Gap(start, end, "*", f"recording damaged ({what} at byte {b.offset})")


def resync_gaps(reader: RecordingReader) -> list[Gap]:
    """Gaps for byte ranges the scan could not read (damaged headers), from neighbouring times."""
    out = []
    for p in reader.problems:
        if p.records is not None or p.lossless:
            continue  # a block with a readable header: reported with its own times
        before = [b.last_t for b in reader.blocks if b.end <= p.start and b.type != fmt.INDEX]
        after = [b.first_t for b in reader.blocks if b.offset >= p.end and b.type != fmt.INDEX]
        if before and after:
            out.append(
                Gap(
                    max(before),
                    min(after),
                    "*",
                    f"recording damaged (bytes {p.start}-{p.end} unreadable)",
                )
            )
    return out


def apply_block(
    reader: RecordingReader,
    i: int,
    objects: ObjectReplay,
    extras: Extras,
    series: bool = True,
) -> bool:
    """Apply the records of data block i; False (and a gap) when the block is damaged."""
    b: BlockInfo = reader.blocks[i]
    records = reader.records(b)
    if reader.is_bad(b):
        extras.add_gap(damage_gap(reader, i, "damaged block"))
        return False
    for r in records:
        if r[0] in fmt.CHANGE_KINDS:
            objects.apply(r)
        else:
            extras.apply(r, series)
    return True
