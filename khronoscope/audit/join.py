"""`import audit FILE... --into RECORDING`: the audit history before a recording, joined to it.

The recording is never rewritten (it is evidence). What the audit logs tell about the time before
it began goes into its companion, `RECORDING.audit` (see recording/companion.py), which opening
the recording merges in. Entries from the recording's own time attribute its versions: matched
by object and resourceVersion (a write logged without its body has no resourceVersion: it is
matched to the object's next recorded version within a few seconds, and says so).

At the join the recording wins. For each object the audit's last state before the recording
began is compared with what the recording listed first:

- same resourceVersion: the same version; the companion holds it as the recording recorded it
  (the same bytes), so opened, the object's history runs on without a step;
- both exist, resourceVersions differ (writes the audit log missed or did not keep), or the
  audit says deleted and the recording lists it, or the audit says it exists and the recording
  (which watched that type and namespace) did not list it (the companion then ends it where the
  recording begins): a GAP over the object's type, from the audit's last entry to the
  recording's first version, whose reason names the object and both sides;
- the audit's state is unknown (a write without its body): the recording's version ends it.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from khronoscope.audit.entries import Effect, Fact
from khronoscope.audit.importer import HistoryBuilder, ImportStats, Progress, run_import
from khronoscope.audit.pipeline import check_files
from khronoscope.audit.pipeline import facts as pipeline_facts
from khronoscope.core.provenance import OBSERVED, Provenance
from khronoscope.core.source import Gap, SourceInfo, TypeState
from khronoscope.core.timefmt import NS, format_iso, parse_k8s_time
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.companion import companion_of, companion_path
from khronoscope.recording.reader import RecordingReader
from khronoscope.recording.replay import ObjectReplay
from khronoscope.recording.segments.source import is_segmented
from khronoscope.recording.writer import RecordingWriter, WriterOptions, make_header

# a write logged without its body matches the object's next recorded version this close to it
MATCH_BEFORE = 2 * NS
MATCH_AFTER = 30 * NS


@dataclass(slots=True)
class First:
    """The recording's first version of an object."""

    t: int
    rv: str
    raw: bytes | None  # None: its first change is a delete


@dataclass(slots=True)
class RecordedIndex:
    """What the recording holds, as far as joining needs it."""

    header: dict[str, Any]
    start: int
    first: dict[ObjectKey, First] = field(default_factory=dict)
    by_rv: dict[tuple[ObjectKey, str], int] = field(default_factory=dict)
    times: dict[ObjectKey, list[int]] = field(default_factory=dict)
    deletes: dict[ObjectKey, list[int]] = field(default_factory=dict)
    live_since: dict[str, int] = field(default_factory=dict)  # type -> first LIVE status
    watched: set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, path: Path) -> RecordedIndex:
        """Read every change of the recording (no TemporalMap: only what joining needs)."""
        with RecordingReader(path) as reader:
            header = reader.header
            start = header.get("start")
            if not isinstance(start, int):
                raise KhronoscopeError(f"{path}: the recording's header has no start time")
            index = cls(header, start)
            replay = ObjectReplay(on_put=index._put, on_delete=index._delete)
            for b in reader.blocks:
                if b.type != fmt.DATA:
                    continue
                for r in reader.records(b):
                    kind = r[0]
                    if kind in fmt.CHANGE_KINDS:
                        replay.apply(r)
                    elif kind == fmt.STATUS:
                        index._status(r)
                    elif kind == fmt.TYPES:
                        index.watched.update(rec.type_from_list(v).name for v in r[2])
            return index

    def _put(self, key: ObjectKey, t: int, raw: bytes) -> None:
        obj = rec.unpack(raw)
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        rv = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
        if key not in self.first:
            self.first[key] = First(t, rv, raw)
        if rv:
            self.by_rv.setdefault((key, rv), t)
        self.times.setdefault(key, []).append(t)

    def _delete(self, key: ObjectKey, t: int) -> None:
        if key not in self.first:
            self.first[key] = First(t, "", None)
        self.deletes.setdefault(key, []).append(t)

    def _status(self, r: list[Any]) -> None:
        name, status = rec.status_from(r)
        self.watched.add(name)
        if status.state is TypeState.LIVE and name not in self.live_since:
            self.live_since[name] = status.since

    def covers(self, key: ObjectKey) -> bool:
        """True when the recording watched the object's type and namespace."""
        if key.type not in self.watched:
            return False
        opts = self.header.get("options") or {}
        if key.namespace:
            spaces = opts.get("namespaces")
            if isinstance(spaces, list) and spaces and key.namespace not in spaces:
                return False
            if key.namespace in (opts.get("exclude_namespaces") or ()):
                return False
        return True

    def listed_first(self, key: ObjectKey) -> First | None:
        """The object's version in the recording's first listing (None: it was not listed)."""
        first = self.first.get(key)
        if first is None or first.raw is None:
            return None
        live = self.live_since.get(key.type)
        if live is not None:
            return first if first.t <= live else None
        meta = rec.unpack(first.raw).get("metadata") or {}
        created = parse_k8s_time(meta.get("creationTimestamp"))
        return first if created is not None and created < self.start else None


@dataclass(slots=True)
class _Held:
    """The newest version (or delete) of an object before the join, not written yet."""

    t: int
    raw: bytes | None
    prov: Provenance
    unknown: bool


class JoinBuilder(HistoryBuilder):
    """Writes the history before `index.start` into the companion, holding each object's last
    state back to decide the join; entries after it attribute the recording's versions."""

    def __init__(self, writer: RecordingWriter, stats: ImportStats, index: RecordedIndex) -> None:
        super().__init__(writer, stats)
        self.index = index
        self._held: dict[ObjectKey, _Held] = {}
        self._attributed: dict[tuple[ObjectKey, int], Provenance] = {}
        self._cuts: dict[ObjectKey, int] = {}

    def handle(self, fact: Fact) -> None:
        """Before the recording saw the object: history; after: who made its versions."""
        if fact.t < self._cutoff(fact.key):
            super().handle(fact)
        else:
            self._attribute(fact)

    def _cutoff(self, key: ObjectKey) -> int:
        """Where the recording takes over an object: its first listing (the list is made a
        moment after the recording began and holds every write before it), else its start."""
        cut = self._cuts.get(key)
        if cut is None:
            listed = self.index.listed_first(key) if key.name else None
            cut = self._cuts[key] = listed.t if listed is not None else self.index.start
        return cut

    # --- before: hold each object's last state back ----------------------------------------

    def current(self, key: ObjectKey) -> bytes | None:
        """The version in force, counting the one held back."""
        held = self._held.get(key)
        if held is not None:
            return held.raw
        return super().current(key)

    def put(
        self, t: int, key: ObjectKey, raw: bytes, prov: Provenance, unknown: bool = False
    ) -> None:
        """Hold the version back (writing the one held before it)."""
        held = self._held.get(key)
        if held is not None and held.raw == raw:
            self.stats.unchanged += 1
            return
        self._release(key)
        self._held[key] = _Held(t, raw, prov, unknown)
        self._live.setdefault((key.type, key.namespace), set()).add(key.name)

    def delete(self, t: int, key: ObjectKey, prov: Provenance) -> None:
        """Hold the delete back (writing the version held before it)."""
        if self.current(key) is None:
            super().delete(t, key, prov)  # of something never seen: a mark
            return
        self._release(key)
        self._held[key] = _Held(t, None, prov, False)
        self._live.get((key.type, key.namespace), set()).discard(key.name)

    def _release(self, key: ObjectKey) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return
        if held.raw is None:
            super().delete(held.t, key, held.prov)
        else:
            super().put(held.t, key, held.raw, held.prov, held.unknown)

    # --- the join ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Write each object's last state as the join decides, then the attributions."""
        for key in sorted(self._held):
            self._join(key, self._held.pop(key))
        for entry in self._attributed.values():
            self.writer.append_provenance(entry)
        self.stats.attributed = len(self._attributed)

    def _join(self, key: ObjectKey, held: _Held) -> None:
        index = self.index
        listed = index.listed_first(key)
        first = index.first.get(key)
        reason = ""
        if held.raw is None:
            if listed is not None:
                reason = "deleted in the audit log, listed by the recording"
            HistoryBuilder.delete(self, held.t, key, held.prov)
        else:
            raw = held.raw
            if listed is not None and not held.unknown:
                if held.prov.resource_version and held.prov.resource_version == listed.rv:
                    # the same version: as the recording has it, so the two meet without a step
                    raw = listed.raw or raw
                else:
                    reason = (
                        f"resourceVersion {held.prov.resource_version or '?'} in the audit log, "
                        f"{listed.rv or '?'} in the recording"
                    )
            HistoryBuilder.put(self, held.t, key, raw, held.prov, held.unknown)
            if listed is None and index.covers(key):
                reason = "in the audit log, not listed by the recording"
                # the recording wins: the object ends where the recording begins
                end = self.index.start if first is None else min(self.index.start, first.t - 1)
                prov = Provenance(end, key, OBSERVED, note="not listed when recording began")
                if self.writer.append_packed(end, key, None):
                    self.writer.append_provenance(prov)
        if reason:
            end_t = listed.t if listed is not None else self.index.start
            why = f"audit log and recording disagree about {key} at the join: {reason}"
            self.writer.append_gap(Gap(held.t, end_t, key.type, f"{why}; the recording wins"))
            self.stats.gaps += 1

    # --- after: attribute ------------------------------------------------------------------

    def _attribute(self, fact: Fact) -> None:
        index = self.index
        key = fact.key
        note = "from the audit log"
        t_rec: int | None = None
        if fact.effect is Effect.UNKNOWN_COLLECTION:
            return

        def taken(t: int) -> bool:
            return (key, t) in self._attributed

        # a write is stored between its request's arrival and its response, and a watch may
        # deliver it before the response is logged: match from the arrival
        since = fact.received or fact.t
        if fact.effect is Effect.DELETE:
            t_rec = _nearest(index.deletes.get(key), since, taken)
        elif fact.resource_version:
            t_rec = index.by_rv.get((key, fact.resource_version))
            note = f"from the audit log (resourceVersion {fact.resource_version})"
        else:
            t_rec = _nearest(index.times.get(key), since, taken)
            note = "from the audit log, matched by time (the entry has no resourceVersion)"
        if t_rec is None or (key, t_rec) in self._attributed:
            self.stats.skipped["not matched to a recorded version"] += 1
            return
        self._attributed[(key, t_rec)] = replace(
            fact.prov, t=t_rec, origin=OBSERVED, resource_version=fact.resource_version, note=note
        )


def _nearest(times: list[int] | None, t: int, taken: Callable[[int], bool]) -> int | None:
    """The recorded time a write at t made: the first one at or after t (a recorder stamps what
    it receives, after the write) not `taken` by another write, up to MATCH_AFTER later; else
    the closest one before t, down to MATCH_BEFORE (clocks of two machines differ a little)."""
    if not times:
        return None
    start = bisect.bisect_left(times, t)
    for i in range(start, len(times)):
        if times[i] > t + MATCH_AFTER:
            break
        if not taken(times[i]):
            return times[i]
    for i in range(start - 1, -1, -1):
        if times[i] < t - MATCH_BEFORE:
            break
        if not taken(times[i]):
            return times[i]
    return None


def import_into(
    paths: list[Path],
    recording: Path,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """`import audit FILE... --into RECORDING`: write RECORDING's companion (a segmented
    recording's is an object in its store: audit/segjoin.py)."""
    check_files(paths)
    if is_segmented(recording):
        from khronoscope.audit.segjoin import import_into_segmented

        return import_into_segmented(paths, recording, progress, worker)
    target = companion_path(recording)
    if target.exists():
        raise KhronoscopeError(
            f"{recording} already has imported history ({target.name}); move it away to "
            "import again (imported history is never overwritten)"
        )
    index = RecordedIndex.scan(recording)
    return write_companion(paths, recording, index, target, progress, worker)


def write_companion(
    paths: list[Path],
    recording: Path,
    index: RecordedIndex,
    target: Path,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> ImportStats:
    """Write the companion of `recording` (described by `index`) into the new file `target`:
    a format-1 recording whatever the recording's format (removed when the import fails)."""
    stats = ImportStats()
    found = pipeline_facts(paths, stats.read, stats.skipped, worker)
    first = next(found, None)
    h = index.header
    info = SourceInfo(
        cluster=str(h.get("cluster") or ""),
        context=str(h.get("context") or ""),
        server_version=str(h.get("server_version") or ""),
        extra={"source": "audit log", "audit_files": ", ".join(p.name for p in paths)},
    )
    header = make_header(
        info,
        start=min(first.t, index.start) if first is not None else index.start,
        options={"command": "import audit --into", "files": [str(p) for p in paths]},
    )
    header["companion_of"] = companion_of(recording, h)
    # keyframes only at the end: held-back versions are written after newer ones of others
    options = WriterOptions(autoflush=False, keyframe_changes=2**62)
    writer = RecordingWriter(target, header, options)
    ok = False
    try:
        stream = itertools.chain([first], found) if first is not None else found
        stats = run_import(stream, JoinBuilder(writer, stats, index), progress)
        ok = True
        return stats
    finally:
        # imported history ends at its last change, not at the moment it was imported
        writer.close(stop_t=writer.stats.last_t)
        if not ok:
            target.unlink(missing_ok=True)  # half an import would be taken for a whole one


def describe_join(stats: ImportStats) -> str:
    """One line about the join for the command's summary."""
    parts = [f"{stats.attributed:,} recorded versions attributed"]
    if stats.gaps:
        parts.append(f"{stats.gaps} disagreement(s) at the join marked as gaps")
    if stats.first_t is not None:
        parts.append(f"history from {format_iso(stats.first_t)}")
    return ", ".join(parts)
