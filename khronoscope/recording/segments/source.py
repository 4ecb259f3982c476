"""SegmentedSource: a format-2 recording opened as a HistorySource, read lazily.

Opening reads the store's listing, the footers (through the roll-up index objects) and the
spools of a recording still written or cut short: nothing about objects. `tmap` is a
LazyHistory: each view's query reads the segments around the moment shown, within a memory
budget. Pod logs and metrics are read for the segments around the moment the app shows
(`focus`), into the same bounded stores a live session fills.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from khronoscope.core.bookmarks import BookmarkStore
from khronoscope.core.provenance import ProvenanceStore
from khronoscope.core.source import SourceCapability, SourceInfo
from khronoscope.core.timefmt import NS
from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording import records as rec
from khronoscope.recording.bookmarks import BookmarkSidecar
from khronoscope.recording.companion import load_reconstructed
from khronoscope.recording.loss import LossReport, Problem, TypeLoss
from khronoscope.recording.recorded import WRITER_GONE_AFTER, RecordedSource, WriterState
from khronoscope.recording.replay import Extras
from khronoscope.recording.segments import layout
from khronoscope.recording.segments.catalog import SegmentedRecording, SegmentInfo
from khronoscope.recording.segments.companion import MergedCompanion, load_companion
from khronoscope.recording.segments.history import LazyHistory, RowFn
from khronoscope.recording.segments.prefetch import Prefetcher
from khronoscope.recording.segments.spools import load_spools
from khronoscope.recording.segments.wal import writer_holds
from khronoscope.storage import BlobStore, Capability
from khronoscope.storage.local import LocalStore
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.metricstore import MetricsState, MetricStore
from khronoscope.temporal.map import TemporalMap

DEFAULT_CACHE_MB = 256
# logs and metrics are read for this long before the moment shown (and a little after)
TELEMETRY_BEFORE = 15 * 60 * NS
TELEMETRY_AFTER = 60 * NS


class SegmentedSource(RecordedSource):
    """A format-2 recording as a HistorySource (`is_live` only when following)."""

    def __init__(
        self,
        store: BlobStore,
        wal_dir: Path | None = None,
        row_fn: RowFn | None = None,
        follow: bool = False,
        cache_mb: int | None = None,
        display: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        writer_alive: Callable[[], bool | None] | None = None,
    ) -> None:
        budget = (cache_mb if cache_mb is not None else DEFAULT_CACHE_MB) * 1024 * 1024
        self._clock = clock
        # a recording in object storage has no spool to lock: its writer's lease says instead
        self._writer_alive = writer_alive
        self.display = display or store.url
        self.path = Path(self.display)
        # decompressed blocks 3/8 of the budget, index sections 1/8, the rest (logs, start
        # states, windows) 1/2; rows are counted apart (a screenful of tables is small)
        self.rec = SegmentedRecording(
            store, wal_dir, cache_bytes=budget * 3 // 8, index_bytes=budget // 8
        )
        load_spools(self.rec)
        self.tmap = LazyHistory(self.rec, row_fn, budget=budget // 2)
        # reads the next segment ahead while time moves (its worker starts at the first move)
        self.prefetch = Prefetcher(self.tmap)
        self.follow = follow
        self.capabilities = SourceCapability.RECORDED | (
            SourceCapability.FOLLOWS if follow else SourceCapability.NONE
        )
        h = self.rec.header.map
        extra = {str(k): str(v) for k, v in (h.get("extra") or {}).items()}
        extra["secrets"] = str(h.get("secrets", fmt.SECRETS_REDACTED))
        extra["recording"] = self.display
        self.info = SourceInfo(
            cluster=str(h.get("cluster", "")),
            context=str(h.get("context", "")),
            server_version=str(h.get("server_version", "")),
            extra=extra,
        )
        self.logs = LogStore()
        self.metrics = MetricStore()
        self.metrics.set_state(MetricsState.RECORDED)
        self._telemetry_loaded: set[tuple[int, int]] = set()
        self._telemetry_lock = threading.Lock()
        # who made each version, and versions rebuilt from what the cluster remembered
        self.provenance = ProvenanceStore()
        self.companion: MergedCompanion | None = None
        start = h.get("start")
        if isinstance(start, int):
            self.provenance.observed_from = start
        self._read_provenance(row_fn)
        self.bookmark_store = BookmarkStore(
            BookmarkSidecar(_sidecar_base(store, self.display)),
            lambda: self._extras.bookmarks,
            lambda: self._extras.max_bookmark_id,
        )
        self._extras = Extras()
        self._extras_seen: set[tuple[int, int]] = set()
        self._read_extras()
        if self.companion is not None:
            for gap in self.companion.extras.gaps.values():
                self._extras.add_gap(gap)
        self._writer = WriterState()
        self._grew_at = self._clock()
        self._check_writer()  # a recorder that already stopped (or closed) is not LIVE
        # nothing loads in the background: every moment is read when shown
        self.history_complete = True
        self.lost_versions = 0
        self.loaded_changes = self.total_changes = self.tmap.change_count
        end = self.end_t
        if end is not None:
            self.focus(end)

    @property
    def complete_from(self) -> int | None:
        """Every moment is available: from the first one on."""
        return self.tmap.first_t

    # --- extras (footers) ---------------------------------------------------------------------

    def _read_extras(self) -> None:
        for seg in self.tmap.segments:
            mark = (seg.seq, id(seg))
            if mark in self._extras_seen:
                continue
            self._extras_seen.add(mark)
            for r in seg.footer.get("extras") or ():
                if not isinstance(r, list) or not r:
                    continue
                if r[0] == fmt.KF_BEGIN:
                    self._extras.max_bookmark_id = max(self._extras.max_bookmark_id, r[4])
                else:
                    self._extras.apply(r, series=False)
        self._apply_info()

    def _apply_info(self) -> None:
        info = self._extras.info
        for field in ("cluster", "context", "server_version"):
            value = info.get(field)
            if isinstance(value, str) and value:
                setattr(self.info, field, value)

    def _read_provenance(self, row_fn: RowFn | None) -> None:
        """Provenance entries and reconstructed versions of every segment (a burst when a
        session connects: read at once)."""
        keys: dict[ObjectKey, ObjectKey] = {}
        rebuilt: list[tuple[ObjectKey, int, bytes]] = []
        for seg in self.tmap.segments:
            for r in self.rec.series(seg, "provenance"):
                if r[0] == fmt.PROVENANCE:
                    entry = rec.provenance_from(r, keys)
                    if entry is not None:
                        self.provenance.add(entry)
                elif r[0] == fmt.RECONSTRUCTED:
                    rebuilt.append((ObjectKey(r[2], r[3], r[4]), r[1], r[5]))
        overlay = TemporalMap(row_fn=row_fn)
        # history imported from audit logs (`import audit --into`): exact versions first, so
        # reconstructed ones then only reach further back
        self.companion = load_companion(self.rec.store, self.header, overlay, self.display)
        if self.companion is not None:
            for entry in self.companion.extras.provenance:
                self.provenance.add(entry)
            start, first = self.header.get("start"), self.companion.first_t
            if isinstance(start, int) and first is not None:
                self.provenance.imported = (first, start)
                # where the audit log reaches, its versions are exact: a reconstructed one
                # there (times to the second) would put a rebuilt state beside the real one
                rebuilt = [r for r in rebuilt if r[1] < first - NS]
        if rebuilt:
            load_reconstructed(overlay, rebuilt)
        if overlay.change_count:
            self.tmap.set_overlay(overlay)

    # --- logs and metrics around the moment shown ---------------------------------------------

    def focus(self, t: int) -> None:
        """Read the logs and metrics of the segments around t (once each)."""
        lo, hi = t - TELEMETRY_BEFORE, t + TELEMETRY_AFTER
        for seg in self.tmap.segments:
            for which in ("logs", "metrics"):
                doc = seg.footer.get(which)
                if not doc or doc["last_t"] < lo or doc["first_t"] > hi:
                    continue
                mark = (seg.seq, id(seg)) if which == "logs" else (-1 - seg.seq, id(seg))
                with self._telemetry_lock:
                    if mark in self._telemetry_loaded:
                        continue
                    self._telemetry_loaded.add(mark)
                self._absorb(which, self.rec.series(seg, which))

    def _absorb(self, which: str, records: list[list[Any]]) -> None:
        from khronoscope.recording.source import sample_of

        if which == "metrics":
            self.metrics.insert_many(
                sample_of(r[1], ObjectKey(r[2], r[3], r[4]), r[5]) for r in records
            )
            return
        streams: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        for r in records:
            if r[0] == fmt.LOG:
                streams.setdefault((r[2], r[3], r[4]), []).append((r[1], r[5]))
            elif r[0] == fmt.LOG_NOTE:
                self.logs.note(r[2], r[3], r[4], r[1], r[5])
        for (ns, pod, container), lines in streams.items():
            self.logs.load(ns, pod, container, lines)

    # --- follow -------------------------------------------------------------------------------

    def poll(self) -> int:
        """Follow mode: pick up segments sealed and spool records written since; returns the
        changes that came in."""
        before = self.tmap.change_count
        self.rec.refresh()
        load_spools(self.rec)
        self.tmap._sync()
        self._read_extras()
        end = self.end_t
        if end is not None:
            self.focus(end)
        added = self.tmap.change_count - before
        self.loaded_changes = self.total_changes = self.tmap.change_count
        if added:
            self._grew_at = self._clock()
        self._check_writer()
        return max(added, 0)

    def load_step(self, budget: float = 0.02) -> bool:
        """Nothing is loaded in the background (every moment is read when shown)."""
        return False

    def load_all(self) -> None:
        """Nothing to load."""

    async def load_history(self, budget: float = 0.02) -> None:
        """Nothing to load."""

    # --- beyond the protocol ------------------------------------------------------------------

    def _sample_object(self, type_name: str) -> dict[str, Any] | None:
        end = self.tmap.last_t
        keys = self.tmap.keys_at(end, type_name) if end is not None else []
        return (self.tmap.get(keys[0], end) or {}) if keys else None

    @property
    def header(self) -> dict[str, Any]:
        """The recording's header map."""
        return self.rec.header.map

    @property
    def start_t(self) -> int | None:
        """The recording's first moment shown."""
        return self.tmap.first_t

    @property
    def stopped_t(self) -> int | None:
        """When the recorder stopped cleanly (None while written, or after a crash)."""
        segs = self.tmap.segments
        if not segs:
            return None
        closed = segs[-1].footer.get("closed")
        return int(closed) if isinstance(closed, int) else None

    @property
    def stop_t(self) -> int | None:
        """When the recorder stopped (None while it writes, or after a crash)."""
        return self.stopped_t

    @property
    def end_t(self) -> int | None:
        """The recording's newest moment: its stop time, or its last change."""
        ends = [t for t in (self.tmap.last_t, self.stopped_t) if t is not None]
        return max(ends) if ends else None

    def problems(self) -> list[Problem]:
        """What could not be read so far (a segment, a section, a block), as the loss report's
        problems: bytes of the object concerned, what, when, how many versions."""
        found = [
            Problem(d.start, d.end, f"{d.where}: {d.what}", d.first_t, d.last_t, None, d.versions)
            for d in self.rec.damage
        ]
        return found + (self.companion.problems if self.companion is not None else [])

    def loss_report(self) -> LossReport:
        """What cannot be read, per type: found as reads go (a segmented recording is never
        read whole), so complete for what has been shown."""
        versions: dict[str, int] = {}
        objects: dict[str, set[ObjectKey]] = {}
        counted: dict[str, int] = {}
        exact: dict[str, bool] = {}
        span: dict[str, tuple[int, int]] = {}
        for d in self.rec.damage:
            if d.type is None or not d.versions:
                continue
            versions[d.type] = versions.get(d.type, 0) + d.versions
            objects.setdefault(d.type, set()).update(d.keys)
            counted[d.type] = counted.get(d.type, 0) + (d.objects or 0)
            exact[d.type] = exact.get(d.type, True) and d.objects is not None
            if d.first_t is not None and d.last_t is not None:
                lo, hi = span.get(d.type, (d.first_t, d.last_t))
                span[d.type] = (min(lo, d.first_t), max(hi, d.last_t))
        types = tuple(
            TypeLoss(
                t,
                n,
                max(len(objects[t]), counted[t]),
                exact[t],
                span.get(t, (None, None))[0],
                span.get(t, (None, None))[1],
            )
            for t, n in sorted(versions.items())
        )
        lost = frozenset(k for keys in objects.values() for k in keys)
        return LossReport(tuple(self.problems()), types, lost_objects=lost)

    def _check_writer(self) -> None:
        if not self.follow or self._writer.stopped:
            return
        stop = self.stopped_t
        if stop is not None:
            self._writer = WriterState(True, stop, "closed")
            return
        if self._writer_alive is not None:
            if self._writer_alive() is False:
                self._writer = WriterState(True, self.tmap.last_t, "gone")
            return
        spools = self.rec.spool_files()
        holds = [writer_holds(path) for _, path in spools[-1:]]
        quiet = self._clock() - self._grew_at
        if quiet >= WRITER_GONE_AFTER and (not spools or holds == [False]):
            # a live writer holds its open spool locked all along (even idle): none does, and
            # nothing new came for a while: it died without closing the recording
            self._writer = WriterState(True, self.tmap.last_t, "gone")

    @property
    def segments(self) -> list[SegmentInfo]:
        """The segments shown."""
        return self.tmap.segments

    def close(self) -> None:
        """Stop reading ahead and close the spool files read (nothing else is held open)."""
        self.prefetch.close()
        follower = self.rec.spool_follower
        if follower is not None:
            follower.close()


def _sidecar_base(store: BlobStore, display: str) -> Path:
    """Where replay-time bookmarks go: next to a local recording; for one in object storage,
    under the user's data dir (named after its URL), never a path made of the URL."""
    if Capability.LOCAL in store.capabilities:
        return Path(display)
    digest = hashlib.sha256(display.encode()).hexdigest()[:16]
    tail = display.rstrip("/").rsplit("/", 1)[-1] or "recording"
    return Path(platformdirs.user_data_dir("khronoscope")) / "remote" / f"{tail}-{digest}"


def is_segmented(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a format-2 recording directory."""
    p = Path(path)
    return p.is_dir() and (p / layout.HEADER).is_file()


def open_segmented(
    path: str | os.PathLike[str],
    row_fn: RowFn | None = None,
    follow: bool = False,
    cache_mb: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SegmentedSource:
    """A format-2 recording directory opened lazily."""
    p = Path(path)
    return SegmentedSource(
        LocalStore(p), p / layout.WAL_DIR, row_fn, follow, cache_mb, display=str(p), clock=clock
    )


def damage_lines(source: SegmentedSource) -> list[str]:
    """One line per damaged part, for stderr."""
    return [d.describe() for d in source.problems()]
