"""RecordingSource: a recording opened as a HistorySource, so the app replays it like live.

Opening is newest first: the last complete keyframe plus the changes after it give the state at
the recording's end, which goes into the TemporalMap as one version per object (at the time that
version began). The past is then filled window by window (keyframe to keyframe), newest window
first, through `TemporalMap.backfill`, in slices small enough to run on the UI's event loop
(`load_step` / `load_history`). Everything touches the map from the caller's thread only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khronoscope.core.bookmarks import BookmarkStore
from khronoscope.core.provenance import ProvenanceStore
from khronoscope.core.source import SourceCapability, SourceInfo
from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.bookmarks import BookmarkSidecar
from khronoscope.recording.companion import Companion, load_reconstructed
from khronoscope.recording.damage import lost_runs
from khronoscope.recording.loss import LossReport, LossTally
from khronoscope.recording.reader import Keyframe, Problem, RecordingReader
from khronoscope.recording.recorded import WRITER_GONE_AFTER, RecordedSource, WriterState
from khronoscope.recording.replay import (
    Extras,
    ObjectReplay,
    Version,
    apply_block,
    damage_gap,
    read_keyframe,
    reconcile,
    resync_gaps,
)
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.metricstore import MetricsState, MetricStore
from khronoscope.temporal.chain import RowFn
from khronoscope.temporal.map import TemporalMap

# progress(phase, done, total): phase "newest" while the last moment loads, then "history"
Progress = Callable[[str, int, int], None]
_SLICE_RECORDS = 256
_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class _Window:
    """Blocks [first, end) replayed from a keyframe's state (or from nothing at the start)."""

    start: Keyframe | None
    first: int
    end: int


class RecordingSource(RecordedSource):
    """A read recording as a HistorySource (`is_live` is False unless following a growing file)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        row_fn: RowFn | None = None,
        follow: bool = False,
        progress: Progress | None = None,
        first_types: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        # types the first screen shows: with this, opening puts only their newest objects and
        # the rest of the newest moment comes first in `load_step` (None: everything at once)
        self._first_types = frozenset(first_types) if first_types is not None else None
        self._deferred: list[tuple[ObjectKey, Version]] = []
        self.reader = RecordingReader(self.path)
        self.follow = follow
        self.capabilities = (
            SourceCapability.RECORDED
            | SourceCapability.LOADS_HISTORY
            | (SourceCapability.FOLLOWS if follow else SourceCapability.NONE)
        )
        self.tmap = TemporalMap(row_fn=row_fn)
        h = self.reader.header
        extra = {str(k): str(v) for k, v in (h.get("extra") or {}).items()}
        extra["secrets"] = str(h.get("secrets", fmt.SECRETS_REDACTED))
        extra["recording"] = str(self.path)
        self.info = SourceInfo(
            cluster=str(h.get("cluster", "")),
            context=str(h.get("context", "")),
            server_version=str(h.get("server_version", "")),
            extra=extra,
        )
        self._extras = Extras()
        # the recorded pod logs and metrics, in the same stores a live session fills
        self.logs = LogStore()
        self.metrics = MetricStore()
        self.metrics.set_state(MetricsState.RECORDED)
        # who made each version, and what was reconstructed (see core/provenance.py)
        self.provenance = ProvenanceStore()
        self._reconstructed: list[tuple[ObjectKey, int, bytes]] = []
        # history imported from audit logs into this recording (`import audit --into`)
        self.companion = Companion.find(self.path, self.reader.header)
        self._mark_spans()
        self.bookmark_store = BookmarkStore(
            BookmarkSidecar(self.path),
            lambda: self._extras.bookmarks,
            lambda: self._extras.max_bookmark_id,
        )
        self._progress = progress
        self.total_changes = self.reader.change_count
        if self.companion is not None:
            self.total_changes += self.companion.change_count
        self.loaded_changes = 0
        self.history_complete = False
        # what could not be read: while the history loads (`_history_loss`), and in blocks a
        # recorder appended after opening (`_follow_loss`)
        self._history_loss = LossTally()
        self._follow_loss = LossTally()
        self._loss_cache: tuple[tuple[int, int, int, bool], LossReport] | None = None
        self._clock = clock
        self._writer = WriterState()
        self._seen_size = -1
        self._grew_at = clock()
        # times before this may still be missing from the map while history loads
        self.complete_from: int | None = None
        self._live = ObjectReplay()
        self._window_plan: list[_Window] = []
        self._tail_start: dict[ObjectKey, Version] = {}
        self._history: Iterator[None] | None = None
        self._load_newest()
        if follow:
            self._seen_size = self.reader.size
            self._check_writer()  # a recorder that already stopped (or closed) is not LIVE

    # --- opening ----------------------------------------------------------------------------

    def _report(self, phase: str) -> None:
        if self._progress is not None:
            self._progress(phase, self.loaded_changes, self.total_changes)

    def _load_newest(self) -> None:
        reader = self.reader
        start_state: dict[ObjectKey, Version] = {}
        start_block = 0
        used: Keyframe | None = None
        for kf in reversed(reader.keyframes()):
            extras = Extras()
            entries = read_keyframe(reader, kf, extras)
            if entries is not None:
                start_state, used, self._extras = entries, kf, extras
                start_block = reader.blocks.index(kf.blocks[-1]) + 1
                break
        # what this first pass loses is counted when the history replays the same blocks
        replay = ObjectReplay(start_state, tally=LossTally())
        with _no_gc():
            self._replay_range(replay, start_block, len(reader.blocks), self._extras, True)
            # in time order: every put is an append (no late-write fix-ups in the indexes)
            first = self._first_types
            for key, (t, raw) in sorted(replay.state.items(), key=lambda kv: kv[1][0]):
                if first is None or key.type in first:
                    self.tmap.put_raw(key, t, raw)
                else:
                    self._deferred.append((key, (t, raw)))
        for gap in resync_gaps(reader):
            self._extras.add_gap(gap)
        self._absorb(self._extras)
        self._live = replay
        replay.on_put = self.tmap.put_raw
        replay.on_delete = self.tmap.delete
        replay.tally = self._follow_loss
        if not self.follow:
            # only following needs every object's newest bytes here (as delta bases)
            replay.state = {}
        self.loaded_changes = replay.changes
        self.complete_from = None if self._deferred else self.tmap.last_t
        self._tail_start = start_state
        self._plan_windows(start_block, used)
        self._history = self._backfill()
        self._apply_info()
        self._report("newest")

    def _apply_info(self) -> None:
        """Identity learnt after the header was written (INFO records) overrides the header's."""
        info = self._extras.info
        for field in ("cluster", "context", "server_version"):
            value = info.get(field)
            if isinstance(value, str) and value:
                setattr(self.info, field, value)

    def _replay_range(
        self, replay: ObjectReplay, first: int, end: int, extras: Extras, resync: bool
    ) -> None:
        """Apply blocks [first, end); keyframes in the range resync the state after damage."""
        reader = self.reader
        keyframes = {kf.blocks[-1].offset: kf for kf in reader.keyframes()}
        damaged = False
        for i in range(first, end):
            b = reader.blocks[i]
            if b.type == fmt.DATA:
                if not apply_block(reader, i, replay, extras):
                    damaged = True
            elif resync and b.offset in keyframes and (damaged or replay.broken):
                entries = read_keyframe(reader, keyframes[b.offset])
                if entries is not None:
                    replay.resync(keyframes[b.offset].t, entries)
                    damaged = False

    def _plan_windows(self, tail_first: int, used: Keyframe | None) -> None:
        """Windows newest first: the tail after the keyframe used, then keyframe to keyframe."""
        reader = self.reader
        index = {b.offset: i for i, b in enumerate(reader.blocks)}
        plan = [_Window(used, tail_first, len(reader.blocks))]
        if used is not None:
            end = index[used.blocks[0].offset]
            for kf in reversed(reader.keyframes()):
                if index[kf.blocks[-1].offset] >= end:
                    continue
                plan.append(_Window(kf, index[kf.blocks[-1].offset] + 1, end))
                end = index[kf.blocks[0].offset]
            plan.append(_Window(None, 0, end))
        self._window_plan = plan

    # --- history, newest window first ---------------------------------------------------------

    def _backfill(self) -> Iterator[None]:
        reader = self.reader
        if self._deferred:
            # the rest of the newest moment first (the windows' limits rely on it)
            for n, (key, (t, raw)) in enumerate(self._deferred):
                self.tmap.put_raw(key, t, raw)
                if n % _SLICE_RECORDS == _SLICE_RECORDS - 1:
                    yield
            self._deferred = []
            self.complete_from = self.tmap.last_t
            self._report("newest")
            yield
        newer: Keyframe | None = None  # the keyframe after the window being replayed
        newer_keys: frozenset[ObjectKey] = frozenset()
        damaged_file = any(not p.lossless for p in reader.problems) or bool(reader.missing)
        carried_end: int | None = None
        for n, w in enumerate(self._window_plan):
            is_tail = n == 0
            end = carried_end if carried_end is not None else w.end
            start: dict[ObjectKey, Version] = {}
            if is_tail:
                start = self._tail_start
                self._tail_start = {}
            elif w.start is not None:
                entries = read_keyframe(reader, w.start)
                if entries is None:
                    carried_end = end  # damaged: the next older window replays through it
                    continue
                start = entries
            carried_end = None
            bf = self.tmap.backfill()
            for key, (t, raw) in sorted(start.items(), key=lambda kv: kv[1][0]):
                bf.put_raw(key, t, raw)
            replay = ObjectReplay(
                start, on_put=bf.put_raw, on_delete=bf.delete, tally=self._history_loss
            )
            extras = Extras()
            for i in range(w.first, end):
                b = reader.blocks[i]
                if b.type != fmt.DATA:
                    continue
                records = reader.records(b)
                if reader.is_bad(b):
                    extras.add_gap(damage_gap(reader, i, "damaged block"))
                    damaged_file = True
                    continue
                for j, r in enumerate(records):
                    if r[0] in fmt.CHANGE_KINDS:
                        replay.apply(r)
                    elif not is_tail:  # the tail's other records were read when opening
                        extras.apply(r)
                    if j % _SLICE_RECORDS == _SLICE_RECORDS - 1:
                        yield
                if not is_tail:
                    self.loaded_changes += b.changes
                    self._report("history")
                yield
            replayed = any(reader.blocks[i].type == fmt.DATA for i in range(w.first, end))
            if newer is not None and (w.start is not None or replayed or newer.changes_before):
                # (a window from the file's start with nothing in it, before the keyframe a
                # compacted file starts with, has no state to set straight)
                self._reconcile(replay, bf, newer, newer_keys, damaged_file)
            bf.commit()
            # the window's versions are old history: pack them, a block per slice
            while self.tmap.compact_step():
                yield
            self._absorb(extras)
            for gap in extras.gaps.values():
                self._extras.add_gap(gap)
            if extras.stop_t is not None:  # a recording appended to after a clean close
                self._extras.stop_t = max(self._extras.stop_t or 0, extras.stop_t)
            if w.start is not None:
                newer, newer_keys = w.start, frozenset(start.keys())
                self.complete_from = w.start.t
            yield
        # the oldest history last: versions the cluster remembered, then the audit log's
        yield from self._older_than_recorded()
        if not self.follow:  # nothing will change any more: every version can go cold
            yield from self.tmap.compact_steps()
        self._finish()

    def _reconcile(
        self,
        replay: ObjectReplay,
        bf: Any,
        kf: Keyframe,
        kf_keys: frozenset[ObjectKey],
        damaged: bool,
    ) -> None:
        """A window's end against the keyframe after it, which the newer window started from
        (its versions are in the map already): objects alive here but absent there lost their
        delete (removed at the keyframe's time, marked corrected); versions that differ were
        lost here and read back from the keyframe (marked restored)."""
        tally = self._history_loss
        if not damaged and not replay.broken:
            for key in replay.state.keys() - kf_keys:  # (none in an intact file)
                bf.delete(key, kf.t)
                tally.correct(key, kf.t)
            return
        entries = read_keyframe(self.reader, kf)
        if entries is None:
            return
        gone, puts = reconcile(replay.state, entries)
        for key in gone:
            bf.delete(key, kf.t)
            tally.correct(key, kf.t)
        for key, vt, _raw in puts:
            if vt is None:
                tally.correct(key, kf.t)
            else:
                tally.recover(key, vt)

    def _mark_spans(self) -> None:
        """Where watched history begins (views style what is before it apart), and where
        history imported from audit logs lies."""
        h = self.reader.header
        start = h.get("start")
        first, last = self.reader.first_t, self.reader.last_t
        if (h.get("options") or {}).get("command") == "import audit":
            if first is not None and last is not None:
                self.provenance.imported = (first, last + 1)
                self.provenance.observed_from = last + 1
            return
        if isinstance(start, int):
            self.provenance.observed_from = start
            if self.companion is not None and self.companion.reader is not None:
                audit_first = self.companion.reader.first_t
                if audit_first is not None:
                    self.provenance.imported = (audit_first, start)

    def _older_than_recorded(self) -> Iterator[None]:
        """Add what comes before the recorded versions of each object: reconstructed versions
        and the companion's imported history (each key's versions end where the recording's
        begin: the recording wins)."""
        # the audit's exact versions first: reconstructed ones then only reach further back
        if self.companion is not None:
            extras = Extras()
            for _ in self.companion.load(self.tmap, extras):
                yield
            self.loaded_changes += self.companion.change_count
            self._absorb(extras)
            for gap in extras.gaps.values():
                self._extras.add_gap(gap)
            self._report("history")
        if self._reconstructed:
            items = self._reconstructed
            imported = self.provenance.imported
            if imported is not None:
                # where the audit log reaches, its versions are exact: a reconstructed one there
                # (times to the second) would put a rebuilt state beside or before the real one
                items = [r for r in items if r[1] < imported[0] - _SECOND]
            load_reconstructed(self.tmap, items)
            self._reconstructed = []
            yield

    def _finish(self) -> None:
        self.history_complete = True
        self.complete_from = self.tmap.first_t
        self.loaded_changes = max(self.loaded_changes, self.total_changes)
        self._report("history")

    def load_step(self, budget: float = 0.02) -> bool:
        """Load history for about `budget` seconds; True while there is more to load."""
        if self._history is None or self.history_complete:
            return False
        deadline = time.monotonic() + budget
        with _no_gc():
            for _ in self._history:
                if time.monotonic() >= deadline:
                    return not self.history_complete
        return False

    def load_all(self) -> None:
        """Load the whole history now."""
        while self.load_step(1.0):
            pass

    async def load_history(self, budget: float = 0.02) -> None:
        """Load the whole history in slices, yielding to the event loop between them."""
        while self.load_step(budget):
            await asyncio.sleep(0)

    # --- follow -----------------------------------------------------------------------------

    def poll(self) -> int:
        """Follow mode: apply the blocks a recorder appended since; returns changes applied.
        Also notices the recorder stopping (see `writer_state`)."""
        before = len(self.reader.blocks)
        size = self.reader.size
        if size != self._seen_size:
            self._seen_size, self._grew_at = size, self._clock()
        new = self.reader.refresh()
        applied = 0
        if new:
            changes = self._live.changes
            self._replay_range(self._live, before, len(self.reader.blocks), self._extras, True)
            self._absorb(self._extras)
            self._apply_info()
            applied = self._live.changes - changes
            self.total_changes += applied
            self.loaded_changes += applied
        self._check_writer()
        return applied

    def _check_writer(self) -> None:
        if not self.follow or self._writer.stopped:
            return
        stop = self._extras.stop_t
        if stop is not None:
            self._writer = WriterState(True, stop, "closed")
            return
        if self.reader.replaced():
            # retention rewrote it (or it was moved or deleted): this copy will not grow
            self._writer = WriterState(True, self.reader.last_t, "replaced")
            return
        quiet = self._clock() - self._grew_at
        if quiet >= WRITER_GONE_AFTER and self.reader.writer_lock_held() is False:
            # a live writer holds its lock all along (even idle); none does and nothing new
            # came for a while: it died (kill -9, a crash) without closing the file
            self._writer = WriterState(True, self.reader.last_t, "gone")

    # --- beyond the protocol ----------------------------------------------------------------

    def _sample_object(self, type_name: str) -> dict[str, Any] | None:
        for chain in self.tmap.chains(type_name):
            raw = chain.last_raw()
            if raw is not None:
                return rec.unpack(raw)
        return None

    def _absorb(self, extras: Extras) -> None:
        """Move the log lines and metric samples read so far into the stores (older windows
        arrive after newer ones: the stores put them before)."""
        if extras.logs:
            streams: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
            for line in extras.logs:
                key = (line.namespace, line.pod, line.container)
                streams.setdefault(key, []).append((line.t, line.line))
            for (ns, pod, container), lines in streams.items():
                self.logs.load(ns, pod, container, lines)
            extras.logs.clear()
        for note in extras.log_notes:
            self.logs.note(note.namespace, note.pod, note.container, note.t, note.line)
        extras.log_notes.clear()
        if extras.metrics:
            self.metrics.insert_many(sample_of(m.t, m.key, m.values) for m in extras.metrics)
            extras.metrics.clear()
        for entry in extras.provenance:
            self.provenance.add(entry)
        extras.provenance.clear()
        if extras.reconstructed:
            if self.history_complete:  # followed: a recorder wrote them after the start
                load_reconstructed(self.tmap, extras.reconstructed)
            else:
                self._reconstructed.extend(extras.reconstructed)
            extras.reconstructed.clear()

    @property
    def header(self) -> dict[str, Any]:
        """The recording's file header."""
        return self.reader.header

    @property
    def start_t(self) -> int | None:
        """The recording's first moment."""
        return self.tmap.first_t if self.history_complete else self.reader.first_t

    @property
    def end_t(self) -> int | None:
        """The recording's newest moment (what "now" means when replaying): when the recorder
        stopped, or (a file not closed cleanly) its last record; None before any change."""
        ends = [t for t in (self.tmap.last_t, self._live.last_t) if t is not None]
        if not ends:
            return None
        if self._extras.stop_t is not None:
            ends.append(self._extras.stop_t)
        last = self.reader.last_data_t
        if last is not None:
            ends.append(last)
        return max(ends)

    @property
    def stop_t(self) -> int | None:
        """When the recorder stopped, from its close record (None: not closed cleanly yet)."""
        return self._extras.stop_t

    def problems(self) -> list[Problem]:
        """Damage found in the file (and its companion) so far: bytes and what was lost."""
        found = self.reader.report()
        if self.companion is not None:
            found += self.companion.problems()
        return found

    def loss_report(self) -> LossReport:
        """Exactly what cannot be read (complete once the history has loaded)."""
        reader = self.reader
        mark = (
            len(reader.blocks),
            len(reader.problems),
            self._history_loss_size(),
            self._writer.stopped,
        )
        if self._loss_cache is not None and self._loss_cache[0] == mark:
            return self._loss_cache[1]
        tally = LossTally()
        tally.absorb(self._history_loss)
        tally.absorb(self._follow_loss)
        # a block still being written by a live recorder is not lost
        for run in lost_runs(reader, include_tail=not self.is_live):
            tally.lost_run(run)
        report = tally.report(self.problems())
        self._loss_cache = (mark, report)
        return report

    def _history_loss_size(self) -> int:
        h, f = self._history_loss, self._follow_loss
        return sum(
            len(x) for t in (h, f) for x in (t.runs, t.skipped, t.recovered, t.corrections)
        ) + sum(len(v) for t in (h, f) for v in t.skipped.values())

    @property
    def lost_versions(self) -> int:
        """Versions that cannot be read (see `loss_report`)."""
        return self.loss_report().versions

    def close(self) -> None:
        """Close the file."""
        self.reader.close()
        if self.companion is not None:
            self.companion.close()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Bulk loading makes millions of short-lived acyclic objects: the cyclic collector would
    rescan the growing heap over and over for nothing (the TemporalMap does the same)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def open_recording(
    path: str | os.PathLike[str],
    row_fn: RowFn | None = None,
    follow: bool = False,
    progress: Progress | None = None,
    history: bool = True,
) -> RecordingSource:
    """Open a recording with its whole history (`history=False`: only the newest moment; then
    fill the past with `load_step`/`load_history`, as the app does to show something at once)."""
    source = RecordingSource(path, row_fn=row_fn, follow=follow, progress=progress)
    if history:
        source.load_all()
    return source


def sample_of(
    t: int, key: ObjectKey, values: dict[str, float | int]
) -> tuple[int, ObjectKey, int, int, dict[str, tuple[int, int]]]:
    """A METRIC record's values (`cpu` in cores, `memory` in bytes, `cpu/NAME` and
    `memory/NAME` per container) as a MetricStore sample."""
    containers: dict[str, tuple[int, int]] = {}
    for field, value in values.items():
        kind, _, name = field.partition("/")
        if name and kind in ("cpu", "memory"):
            cpu, mem = containers.get(name, (0, 0))
            if kind == "cpu":
                cpu = round(float(value) * 1e9)
            else:
                mem = int(value)
            containers[name] = (cpu, mem)
    cpu = round(float(values.get("cpu", 0) or 0) * 1e9)
    return t, key, cpu, int(values.get("memory", 0) or 0), containers
