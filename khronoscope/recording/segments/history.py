"""LazyHistory: the TemporalMap's read API over a segmented recording, reading only what is
asked for.

A query at t touches the segment whose time range holds t: its `index` section for the type
asked (cached as a TypeLog) and, for "what is in force at t", the state at the segment's start
(StartStates). Versions' bytes are read from their blocks (cached by the catalog within its byte
budget); decoded rows are kept for the versions shown last. Change queries over a range read
the logs of the segments it covers; counts over a range use each segment's footer, and its
per-type histogram where a segment is only partly covered and not loaded. `history(key)` reads
only the segments whose key filter may hold the key.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from khronoscope.core.provenance import unknown_placeholder
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.segments import keyfilter
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.catalog import SegmentedRecording, SegmentInfo
from khronoscope.recording.segments.overlay import Overlay
from khronoscope.recording.segments.windows import (
    KID_BITS,
    KID_MASK,
    LogCache,
    Ref,
    StartStates,
    TypeLog,
    TypeWindow,
)
from khronoscope.temporal import codec
from khronoscope.temporal.map import ChangeRef, Namespaces, TemporalMap, _ns_set
from khronoscope.temporal.rows import ROW_CACHE_MAX

RowFn = Callable[[str, dict[str, Any]], Hashable]
_OVERLAY_SERIAL = 0  # the overlay's key ids (logs' serials start at 1)
ROW_CACHE = 32_768
_KINDS = (ChangeKind.ADDED, ChangeKind.MODIFIED, ChangeKind.DELETED)


class ChainView:
    """One object seen through a LazyHistory (what cursors and "what changed" ask of a key
    id): its key, and whether and how it exists at a time."""

    __slots__ = ("_h", "key")

    def __init__(self, history: LazyHistory, key: ObjectKey) -> None:
        self._h = history
        self.key = key

    def exists_at(self, t: int) -> bool:
        """True when the object exists at t."""
        return self._h.version_at(self.key, t) is not None

    def version_at(self, t: int) -> int | None:
        """Time of the version in force at t."""
        return self._h.version_at(self.key, t)

    def row_at(self, t: int) -> Hashable | None:
        """The row of the version in force at t."""
        return self._h.row(self.key, t)


class LazyHistory:
    """A read-only TemporalMap over the segments of a recording (see the module docstring)."""

    def __init__(
        self,
        rec: SegmentedRecording,
        row_fn: RowFn | None = None,
        budget: int = 128 * 1024 * 1024,
        row_cache: int = ROW_CACHE,
    ) -> None:
        self.rec = rec
        self._row_fn = row_fn
        self._lock = threading.RLock()
        # the budget: a quarter each for change logs and start states, half for windows
        self.logs = LogCache(rec, budget // 4)
        self.starts = StartStates(rec, self.logs, budget // 4)
        window_bytes = budget // 2
        self._windows: OrderedDict[tuple[int, str], TypeWindow] = OrderedDict()
        self._window_bytes = 0
        self.window_budget = window_bytes
        self._rows: OrderedDict[tuple[int, str, int], Hashable] = OrderedDict()
        self.row_cache = row_cache
        self.rows_computed = 0  # rows made by row_fn since opening (what the views cost)
        self._histories: OrderedDict[ObjectKey, list[tuple[int, int, int, int]]] = OrderedDict()
        self._filters: dict[int, bytes | None] = {}
        self._kid_logs: OrderedDict[int, list[ObjectKey]] = OrderedDict()
        self._log_serial: dict[int, int] = {}  # id(TypeLog) -> serial
        self._serial = 0
        self.horizon = -1
        self.trims = 0
        self.listeners: list[Callable[[int, ObjectKey], None]] = []
        self._generation = -1
        self._segs: list[SegmentInfo] = []
        self._lasts: list[int] = []
        self._spools: set[int] = set()
        self.first_t: int | None = None
        self.last_t: int | None = None
        self.change_count = 0
        # versions older than an object's recorded ones (rebuilt from what the cluster
        # remembered): kept in memory, shown before the recorded history of their objects
        self.overlay: TemporalMap | None = None
        self._join: Overlay | None = None
        # told of each positioned read (time, type, position of its segment): the prefetcher
        self.on_read: Callable[[int, str, int], None] | None = None
        # per type, the keys whose rows were drawn last (what a read ahead should cover)
        self.shown_keys: dict[str, tuple[ObjectKey, ...]] = {}
        self._building: dict[tuple[int, str], threading.Event] = {}
        self._sync()

    def set_overlay(self, overlay: TemporalMap) -> None:
        """Versions to show before each object's recorded ones (history imported from audit
        logs, reconstructed history): see overlay.py."""
        self.overlay = overlay
        self._join = Overlay(overlay, self)
        self._join.forget(self._floor())
        if overlay.first_t is not None and (self.first_t is None or overlay.first_t < self.first_t):
            self.first_t = overlay.first_t

    def _floor(self) -> int | None:
        """No recorded version is older than this (None: not known, after retention)."""
        segs = self._segs
        if not segs or segs[0].seq != 0:
            return None
        return min((s.first_t for s in segs if s.changes), default=None)

    def _before_recorded(self, key: ObjectKey, t: int) -> bool:
        """True when the overlay speaks for `key` at t (before its first recorded version)."""
        return self._join is not None and self._join.speaks(key, t)

    def recorded_first(self, key: ObjectKey) -> tuple[int, int, int, int] | None:
        """(time, kind, seq, record id) of the first recorded version of `key` (for the
        overlay): the segments are read from the first on, up to the first that holds it."""
        self._sync()
        known = self._histories.get(key)
        if known is not None:
            return known[0] if known else None
        if not self._segs:
            return None
        ref = self.starts.at(self._segs[0].seq, key.type).get((key.namespace, key.name))
        if ref is not None:  # alive since before the first segment shown
            return ref[0], sf.ADDED, ref[1], ref[2]
        for s in self._segs:
            ix = self._index_holding(s, key)
            j = ix.find(key.namespace, key.name) if ix is not None else None
            if ix is not None and j is not None:
                t, kind, rid = ix.versions_of(j)[0]
                return t, kind, s.seq, rid
        return None

    def _index_holding(self, s: SegmentInfo, key: ObjectKey) -> sf.TypeIndex | None:
        """The index of `key`'s type in segment `s`, when its key filter may hold `key`."""
        if not s.changes or "index" not in s.types.get(key.type, {}):
            return None
        flt = self._filter(s)
        if flt is not None and not keyfilter.may_hold(flt, key):
            return None
        return self.rec.type_index(s.seq, key.type)

    def recorded_raw(self, key: ObjectKey, seq: int, rid: int) -> bytes | None:
        """The bytes of one recorded version of `key` (for the overlay)."""
        return self.rec.records(seq, key.type, [rid])[0]

    # --- the segments shown -------------------------------------------------------------------

    def _sync(self) -> None:
        rec = self.rec
        if rec.generation == self._generation:
            return
        with self._lock:
            old = {s.seq: s for s in self._segs}
            segs = visible_segments(rec.segments)
            now = {s.seq: s for s in segs}
            replaced = {seq for seq, s in old.items() if seq not in now or now[seq] is not s} | (
                self._spools - {s.seq for s in segs if s.spool}
            )
            if replaced:
                self._forget(replaced)
                self.trims += 1
            # an object's history may go on in the new segments
            self._histories.clear()
            self._segs = segs
            self._lasts = [s.last_t for s in segs]
            self._spools = {s.seq for s in segs if s.spool}
            with_changes = [s for s in segs if s.changes]
            self.first_t = visible_start(rec.segments, segs)
            self.last_t = max((s.last_t for s in with_changes), default=None)
            if self.first_t is None and with_changes:
                self.first_t = with_changes[0].first_t
            self.change_count = sum(s.changes for s in segs)
            self._generation = rec.generation
            if self._join is not None:
                self._join.forget(self._floor())
                first = self._join.tmap.first_t
                if first is not None and (self.first_t is None or first < self.first_t):
                    self.first_t = first

    def _forget(self, seqs: set[int]) -> None:
        self.logs.clear()
        self.starts.clear()
        self._windows.clear()
        self._window_bytes = 0
        self._rows = OrderedDict((k, v) for k, v in self._rows.items() if k[0] not in seqs)
        self._histories.clear()
        for seq in seqs:
            self._filters.pop(seq, None)

    @property
    def segments(self) -> list[SegmentInfo]:
        """The segments shown, oldest first."""
        self._sync()
        return self._segs

    @property
    def shown_segments(self) -> list[SegmentInfo]:
        """The segments shown as last synced (no refresh: safe from another thread)."""
        return self._segs

    @property
    def generation(self) -> int:
        """The catalog generation the caches hold (a change means segments were replaced)."""
        return self._generation

    def _index_at(self, t: int) -> int:
        """Position (in the shown segments) of the segment whose time range holds t."""
        i = bisect_left(self._lasts, t)
        return min(i, len(self._segs) - 1)

    def segment_at(self, t: int) -> SegmentInfo | None:
        """The segment whose time range holds t (the last one after the end)."""
        self._sync()
        if not self._segs:
            return None
        return self._segs[self._index_at(t)]

    def _overlapping(self, lo: int | None, hi: int | None) -> Iterator[SegmentInfo]:
        """Segments with changes in [lo, hi], oldest first."""
        segs = self._segs
        i = 0 if lo is None else bisect_left(self._lasts, lo)
        while i < len(segs):
            s = segs[i]
            if hi is not None and s.changes and s.first_t > hi:
                return
            if s.changes:
                yield s
            i += 1

    # --- windows ------------------------------------------------------------------------------

    def window(self, seq: int, type_: str) -> TypeWindow:
        """The view of a type in a segment (cached within the window budget). Thread-safe: the
        prefetcher builds windows ahead; no lock is held while a section is read, and a window
        another thread is building is waited for rather than built twice."""
        key = (seq, type_)
        while True:
            with self._lock:
                found = self._windows.get(key)
                if found is not None:
                    self._windows.move_to_end(key)
                    return found
                building = self._building.get(key)
                if building is None:
                    done = self._building[key] = threading.Event()
                    gen = self._generation
                    break
            building.wait()
        try:
            log = self.logs.get(seq, type_)
            if log is None:
                log = TypeLog(seq, type_, None)
            w = TypeWindow(log, self.starts.at(seq, type_), 0)
            with self._lock:
                self._serial += 1
                w.serial = self._serial
                if gen == self._generation:  # not made stale by a refresh meanwhile
                    self._windows[key] = w
                    self._window_bytes += w.weight
                    while self._window_bytes > self.window_budget and len(self._windows) > 1:
                        _, old = self._windows.popitem(last=False)
                        self._window_bytes -= old.weight
            return w
        finally:
            with self._lock:
                del self._building[key]
            done.set()

    def _window_at(self, t: int, type_: str) -> TypeWindow | None:
        self._sync()
        if not self._segs:
            return None
        i = self._index_at(t)
        on_read = self.on_read
        if on_read is not None:
            on_read(t, type_, i)
        return self.window(self._segs[i].seq, type_)

    # --- point reads --------------------------------------------------------------------------

    def ref(self, key: ObjectKey, t: int) -> Ref | None:
        """Where the version of `key` in force at t is stored (None: absent at t)."""
        versions = self._histories.get(key)
        if versions is not None:
            # its whole history is known already (the history view, `history`): no window
            i = bisect_right(versions, (t, 3)) - 1
            if i < 0 or versions[i][1] == sf.DELETED:
                return None
            vt, _, seq, rid = versions[i]
            return vt, seq, rid
        w = self._window_at(t, key.type)
        return None if w is None else w.ref_of(key, t)

    def raw_at(self, key: ObjectKey, t: int) -> bytes | None:
        """The msgpack bytes of `key` at t (None: absent, or unreadable: reported)."""
        ref = self.ref(key, t)
        if ref is None:
            if self.overlay is not None and self._before_recorded(key, t):
                return self.overlay.raw_at(key, t)
            return None
        raw = self.rec.records(ref[1], key.type, [ref[2]])[0]
        return raw if raw is not None else _unknown(key, ref)

    def get(self, key: ObjectKey, t: int) -> dict[str, Any] | None:
        """The object as it was at t, or None if it did not exist then."""
        raw = self.raw_at(key, t)
        return None if raw is None else codec.unpack(raw)

    def version_at(self, key: ObjectKey, t: int) -> int | None:
        """The time of the version of `key` in force at t; None if it did not exist then."""
        ref = self.ref(key, t)
        if ref is None:
            if self.overlay is not None and self._before_recorded(key, t):
                return self.overlay.version_at(key, t)
            return None
        return ref[0] if self._join is None else self._join.version_began(key, ref[0])

    def row(self, key: ObjectKey, t: int) -> Hashable | None:
        """The summary row of `key` at t, or None if it did not exist then."""
        ref = self.ref(key, t)
        if ref is None:
            if self.overlay is not None and self._before_recorded(key, t):
                return self.overlay.row(key, t)
            return None
        return self._rows_for(key.type, [ref], [key])[0]

    def _rows_for(self, type_: str, refs: list[Ref], keys: list[ObjectKey]) -> list[Hashable]:
        fn = self._row_fn
        if fn is None:
            return [True] * len(refs)
        rows = self._rows
        if len(refs) > self.row_cache:
            # a view reading a whole big table (a sort by a column): keep it all, as RowCache
            # does, or every jump prints it again
            self.row_cache = min(len(refs) + len(refs) // 4, ROW_CACHE_MAX)
        out: list[Hashable] = [None] * len(refs)
        missing: dict[int, list[int]] = {}
        for n, (_, seq, rid) in enumerate(refs):
            k = (seq, type_, rid)
            row = rows.get(k)
            if row is None:
                missing.setdefault(seq, []).append(n)
            else:
                rows.move_to_end(k)
                out[n] = row
        for seq, ns in missing.items():
            raws = self.rec.records(seq, type_, [refs[n][2] for n in ns])
            for n, raw in zip(ns, raws, strict=True):
                if raw is None:  # unreadable (reported): the version exists, its content is lost
                    raw = _unknown(keys[n], refs[n])
                row = fn(type_, codec.unpack(raw))
                self.rows_computed += 1
                out[n] = row
                rows[(seq, type_, refs[n][2])] = row
        while len(rows) > self.row_cache:
            rows.popitem(last=False)
        return out

    def rows_of(self, keys: Iterable[ObjectKey], t: int) -> dict[ObjectKey, Hashable]:
        """The rows of several keys at t (absent ones left out), blocks read once each."""
        keys = list(keys)
        by_type: dict[str, list[tuple[ObjectKey, Ref]]] = {}
        if keys:
            shown = keys[0].type
            self.shown_keys[shown] = tuple(k for k in keys if k.type == shown)
        for key in keys:
            ref = self.ref(key, t)
            if ref is not None:
                by_type.setdefault(key.type, []).append((key, ref))
        out: dict[ObjectKey, Hashable] = {}
        for type_, pairs in by_type.items():
            rows = self._rows_for(type_, [r for _, r in pairs], [k for k, _ in pairs])
            for (key, _), row in zip(pairs, rows, strict=True):
                if row is not None:
                    out[key] = row
        if self.overlay is not None:
            rest = [k for k in keys if k not in out and self._before_recorded(k, t)]
            if rest:
                out.update(self.overlay.rows_of(rest, t))
        return out

    def __contains__(self, key: object) -> bool:
        return isinstance(key, ObjectKey) and bool(self.history(key))

    # --- moments ------------------------------------------------------------------------------

    def types(self) -> list[str]:
        """Every type with objects in the recording shown."""
        self._sync()
        names: set[str] = set()
        for s in self._segs:
            names.update(s.types)
        if self.overlay is not None:
            names.update(self.overlay.types())
        return sorted(names)

    def namespaces(self, type: str | None = None) -> list[str]:
        """Every namespace seen (of one type, or of all)."""
        self._sync()
        out: set[str] = set()
        for s in self._segs:
            for name, doc in s.types.items():
                if type is None or name == type:
                    out.update(doc.get("ns") or ())
                    out.update(doc.get("live_ns") or ())
        if self.overlay is not None:
            out.update(self.overlay.namespaces(type))
        return sorted(out)

    def _refs_at(
        self, t: int, type: str | None, namespace: Namespaces
    ) -> Iterator[tuple[ObjectKey, Ref]]:
        wanted = _ns_set(namespace)
        for type_ in [type] if type is not None else self.types():
            w = self._window_at(t, type_)
            if w is None:
                continue
            keys = w.keys
            ref = w.ref
            for j in w.kids(wanted):
                r = ref(j, t)
                if r is not None:
                    yield keys[j], r

    def _overlay_at(
        self, t: int, type: str | None, namespace: Namespaces, seen: Iterable[ObjectKey]
    ) -> dict[ObjectKey, int]:
        """Overlay objects alive at t before their recorded history (not already `seen`)."""
        if self.overlay is None or self.overlay.first_t is None or t < self.overlay.first_t:
            return {}
        found = self.overlay.versions_at(t, type, namespace)
        if not found:
            return {}
        have = set(seen)
        return {k: v for k, v in found.items() if k not in have and self._before_recorded(k, t)}

    def versions_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, int]:
        """Every object that exists at t and the time its version in force began."""
        out = {k: r[0] for k, r in self._refs_at(t, type, namespace)}
        out.update(self._overlay_at(t, type, namespace, out))
        return out

    def keys_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> list[ObjectKey]:
        """Keys of the objects that exist at t."""
        return list(self.versions_at(t, type, namespace))

    def rows_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, Hashable]:
        """The summary row of every object that exists at t."""
        by_type: dict[str, list[tuple[ObjectKey, Ref]]] = {}
        for k, r in self._refs_at(t, type, namespace):
            by_type.setdefault(k.type, []).append((k, r))
        out: dict[ObjectKey, Hashable] = {}
        for type_, pairs in by_type.items():
            rows = self._rows_for(type_, [r for _, r in pairs], [k for k, _ in pairs])
            for (k, _), row in zip(pairs, rows, strict=True):
                if row is not None:
                    out[k] = row
        extra = self._overlay_at(t, type, namespace, out)
        if extra and self.overlay is not None:
            out.update(self.overlay.rows_of(list(extra), t))
        return out

    def state_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, dict[str, Any]]:
        """Every object that exists at t, decoded (each block read once)."""
        by_block: dict[tuple[int, str], list[tuple[ObjectKey, int]]] = {}
        order: list[ObjectKey] = []
        for k, (_, seq, rid) in self._refs_at(t, type, namespace):
            by_block.setdefault((seq, k.type), []).append((k, rid))
            order.append(k)
        found: dict[ObjectKey, dict[str, Any]] = {}
        for (seq, type_), pairs in by_block.items():
            raws = self.rec.records(seq, type_, [rid for _, rid in pairs])
            for (k, rid), raw in zip(pairs, raws, strict=True):
                found[k] = codec.unpack(raw if raw is not None else _unknown(k, (0, seq, rid)))
        out = {k: found[k] for k in order if k in found}
        extra = self._overlay_at(t, type, namespace, out)
        if extra and self.overlay is not None:
            for k in extra:
                obj = self.overlay.get(k, t)
                if obj is not None:
                    out[k] = obj
        return out

    # --- one object's history -----------------------------------------------------------------

    def _filter(self, seg: SegmentInfo) -> bytes | None:
        if seg.seq not in self._filters:
            self._filters[seg.seq] = self.rec.filter(seg)
        return self._filters[seg.seq]

    def _versions(self, key: ObjectKey) -> list[tuple[int, int, int, int]]:
        """(time, kind, seq, record id) of every version of `key` shown, oldest first."""
        self._sync()
        found = self._histories.get(key)
        if found is not None:
            self._histories.move_to_end(key)
            return found
        out: list[tuple[int, int, int, int]] = []
        for s in self._segs:
            if not s.changes or key.type not in s.types:
                continue
            flt = self._filter(s)
            if flt is not None and not keyfilter.may_hold(flt, key):
                continue
            if "index" not in s.types[key.type]:
                continue
            ix = self.rec.type_index(s.seq, key.type)
            j = ix.find(key.namespace, key.name) if ix is not None else None
            if j is not None:
                assert ix is not None
                out.extend((t, kind, s.seq, rid) for t, kind, rid in ix.versions_of(j))
        if (not out or out[0][1] != sf.ADDED) and self._segs:
            # alive since before the first segment shown: its version then is in the start
            # state of that segment (a base)
            first = self._segs[0]
            ref = self.starts.at(first.seq, key.type).get((key.namespace, key.name))
            if ref is not None:
                out.insert(0, (ref[0], sf.ADDED, ref[1], ref[2]))
        self._histories[key] = out
        while len(self._histories) > 64:
            self._histories.popitem(last=False)
        return out

    def history(self, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
        """Every change of one object: (time, kind), oldest first."""
        recorded = [(t, _KINDS[kind]) for t, kind, _, _ in self._versions(key)]
        return recorded if self._join is None else self._join.history(key, recorded)

    def version_times(self, key: ObjectKey) -> list[int]:
        """The times at which `key` changed, oldest first."""
        return [t for t, _ in self.history(key)]

    # --- changes ------------------------------------------------------------------------------

    def _logs_in(
        self, seg: SegmentInfo, type: str | None, wanted: set[str] | None
    ) -> list[TypeLog]:
        out = []
        for type_ in [type] if type is not None else sorted(seg.types):
            doc = seg.types.get(type_)
            if not doc or not doc.get("changes"):
                continue
            if wanted is not None and not wanted & set(doc.get("ns") or ()):
                continue
            log = self.logs.get(seg.seq, type_)
            if log is not None:
                out.append(log)
        return out

    def changes(
        self,
        start: int | None = None,
        end: int | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> Iterator[ChangeRef]:
        """Changes with start <= t <= end, in time order (both bounds optional)."""
        recorded = self._recorded_changes(start, end, type, namespace)
        if self._join is None:
            return recorded
        return self._join.changes(recorded, start, end, type, namespace)

    def _recorded_changes(
        self, start: int | None, end: int | None, type: str | None, namespace: Namespaces
    ) -> Iterator[ChangeRef]:
        self._sync()
        wanted = _ns_set(namespace)
        for seg in list(self._overlapping(start, end)):
            streams = []
            for log in self._logs_in(seg, type, wanted):
                a, b = log.span(start, end)
                streams.append(_tagged(log, a, b, wanted))
            for entry, log in heapq.merge(*streams, key=lambda el: el[0] >> KID_BITS):
                j = entry & KID_MASK
                yield ChangeRef(entry >> KID_BITS, log.keys[j], _KINDS[log.kind_at(entry)])

    def changed_keys(
        self, after: int, upto: int, type: str, namespace: Namespaces = None
    ) -> tuple[set[int], int]:
        """Key ids changed in (after, upto] and how many changes that is (for the cursor)."""
        self._sync()
        wanted = _ns_set(namespace)
        kids: set[int] = set()
        crossed = 0
        for seg in list(self._overlapping(after + 1, upto)):
            for log in self._logs_in(seg, type, wanted):
                a, b = log.span(after + 1, upto)
                serial = self._kid_serial(log)
                keys = log.keys
                for entry in log.entries[a:b]:
                    j = entry & KID_MASK
                    if wanted is None or keys[j].namespace in wanted:
                        kids.add((serial << KID_BITS) | j)
                        crossed += 1
        if self._join is not None:
            more, n = self._join.changed(after, upto, type, namespace, self._overlay_kid)
            kids |= more
            crossed += n
        return kids, crossed

    def _overlay_kid(self, j: int) -> int:
        """The key id of the overlay's object j (its own serial, never evicted)."""
        return (_OVERLAY_SERIAL << KID_BITS) | j

    def _keys_of(self, serial: int) -> list[ObjectKey]:
        if serial == _OVERLAY_SERIAL and self._join is not None:
            return self._join.keys()
        return self._kid_logs[serial]

    def _kid_serial(self, log: TypeLog) -> int:
        serial = self._log_serial.get(id(log))
        if serial is None or self._kid_logs.get(serial) is not log.keys:
            self._serial += 1
            serial = self._serial
            self._log_serial[id(log)] = serial
            self._kid_logs[serial] = log.keys
            while len(self._kid_logs) > 4096:
                _old, _ = self._kid_logs.popitem(last=False)
        return serial

    def chain_by_kid(self, kid: int) -> ChainView:
        """The object with key id `kid` (ids come from `changed_keys`)."""
        keys = self._keys_of(kid >> KID_BITS)
        return ChainView(self, keys[kid & KID_MASK])

    def key_of(self, kid: int) -> ObjectKey:
        """The key of a key id from `changed_keys`."""
        return self._keys_of(kid >> KID_BITS)[kid & KID_MASK]

    def count_changes(
        self, start: int, end: int, type: str | None = None, namespace: Namespaces = None
    ) -> int:
        """How many changes with start <= t <= end: exact over whole segments and loaded
        ones, estimated from the footer's histogram over a part of a segment not loaded."""
        self._sync()
        wanted = _ns_set(namespace)
        total = 0
        for seg in self._overlapping(start, end):
            whole = start <= seg.first_t and seg.last_t <= end
            for type_ in [type] if type is not None else list(seg.types):
                doc = seg.types.get(type_)
                if not doc or not doc.get("changes"):
                    continue
                ns_counts = doc.get("ns") or {}
                n = doc["changes"] if wanted is None else sum(ns_counts.get(ns, 0) for ns in wanted)
                if not n:
                    continue
                if whole:
                    total += n
                    continue
                log = self.logs.peek(seg.seq, type_)
                if log is not None and log.has_entries:
                    a, b = log.span(start, end)
                    if wanted is None:
                        total += b - a
                    else:
                        keys = log.keys
                        total += sum(
                            1 for e in log.entries[a:b] if keys[e & KID_MASK].namespace in wanted
                        )
                    continue
                exact = doc.get("times")
                if isinstance(exact, bytes) and wanted is None:
                    times = sf.unpack_times(exact, seg.first_t)
                    total += bisect_right(times, end) - bisect_left(times, start)
                    continue
                total += round(n * _hist_share(doc, seg, start, end))
        if self._join is not None:
            total += self._join.count(start, end, type, namespace)
        return total

    def next_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the first change strictly after t (of one key, or of a scope)."""
        if key is not None:
            times = self.version_times(key)
            i = bisect_right(times, t)
            return times[i] if i < len(times) else None
        if self._join is not None:
            # the joined timeline: the overlay's changes, and no stop where the recording's
            # first version is the overlay's last one again
            return next((r.t for r in self.changes(t + 1, None, type, namespace)), None)
        return self._next_recorded(t, type, _ns_set(namespace))

    def _next_recorded(self, t: int, type: str | None, wanted: set[str] | None) -> int | None:
        for seg in self._overlapping(t + 1, None):
            best: int | None = None
            for log in self._logs_in(seg, type, wanted):
                a, b = log.span(t + 1, None)
                for entry in log.entries[a:b]:
                    if wanted is None or log.keys[entry & KID_MASK].namespace in wanted:
                        cand = entry >> KID_BITS
                        if best is None or cand < best:
                            best = cand
                        break
            if best is not None:
                return best
        return None

    def previous_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the last change strictly before t (of one key, or of a scope)."""
        if key is not None:
            times = self.version_times(key)
            i = bisect_left(times, t)
            return times[i - 1] if i > 0 else None
        self._sync()
        wanted = _ns_set(namespace)
        if self._join is None:
            return self._previous_recorded(t, type, wanted)
        while True:
            recorded = self._previous_recorded(t, type, wanted)
            older = self._join.previous_change(t, type, namespace)
            best = max((c for c in (recorded, older) if c is not None), default=None)
            if best is None or best == older or any(self.changes(best, best, type, namespace)):
                return best
            t = best  # only a version seen twice at the join: no change there

    def _previous_recorded(self, t: int, type: str | None, wanted: set[str] | None) -> int | None:
        i = min(bisect_left(self._lasts, t), len(self._segs) - 1)
        while i >= 0:
            seg = self._segs[i]
            i -= 1
            if not seg.changes or seg.first_t >= t:
                continue
            best: int | None = None
            for log in self._logs_in(seg, type, wanted):
                a, b = log.span(None, t - 1)
                for entry in reversed(log.entries[a:b]):
                    if wanted is None or log.keys[entry & KID_MASK].namespace in wanted:
                        cand = entry >> KID_BITS
                        if best is None or cand > best:
                            best = cand
                        break
            if best is not None:
                return best
        return None

    # --- every key ----------------------------------------------------------------------------

    def keys_named(
        self, name: str, types: Iterable[str] | None = None, namespace: str | None = None
    ) -> list[ObjectKey]:
        """Objects called `name` (of some types, in one namespace) ever seen: the key filters
        say where to look, without reading every segment."""
        self._sync()
        found: list[ObjectKey] = []
        for type_ in sorted(types) if types is not None else self.types():
            spaces = [namespace] if namespace is not None else self.namespaces(type_) or [""]
            for ns in spaces:
                key = ObjectKey(type_, ns, name)
                if self._versions(key) or (self.overlay is not None and key in self.overlay):
                    found.append(key)
        return found

    def chains(self, type: str | None = None, namespace: Namespaces = None) -> Iterator[ChainView]:
        """Every object ever seen in a scope (reads every segment's index: for tools, not
        views)."""
        self._sync()
        wanted = _ns_set(namespace)
        seen: set[ObjectKey] = set()
        if self._segs:
            first = self._segs[0]
            for type_ in [type] if type is not None else self.types():
                for ns, name in self.starts.at(first.seq, type_):
                    key = ObjectKey(type_, ns, name)
                    if wanted is None or ns in wanted:
                        seen.add(key)
        for seg in self._segs:
            for log in self._logs_in(seg, type, wanted):
                seen.update(k for k in log.keys if wanted is None or k.namespace in wanted)
        if self.overlay is not None:
            seen.update(c.key for c in self.overlay.chains(type, namespace))
        for key in sorted(seen):
            yield ChainView(self, key)

    def late_writes_since(self, mark: int) -> tuple[list[tuple[int, int]], int]:
        """A recording read back is never written into the past: nothing late, ever."""
        return [], mark


def _unknown(key: ObjectKey, ref: Ref) -> bytes:
    """What stands for a version whose bytes are in a damaged block: the object exists (the
    index says so), its content is not known; views show it as unknown (core/provenance.py),
    never as absent."""
    why = "recording damaged: this version's content cannot be read"
    return codec.pack(unknown_placeholder("", "", key, why))


def _tagged(log: TypeLog, a: int, b: int, wanted: set[str] | None) -> Iterator[tuple[int, TypeLog]]:
    keys = log.keys
    for entry in log.entries[a:b]:
        if wanted is None or keys[entry & KID_MASK].namespace in wanted:
            yield entry, log


def _hist_share(doc: dict[str, Any], seg: SegmentInfo, start: int, end: int) -> float:
    """The share of a segment's changes of one type that fall in [start, end] (its histogram)."""
    hist = doc.get("hist")
    first, last = seg.first_t, seg.last_t
    if not isinstance(hist, bytes) or len(hist) != 4 * sf.HIST_BUCKETS:
        span = max(1, last - first)
        return max(0, min(end, last) - max(start, first)) / span
    from array import array

    counts = array("I")
    counts.frombytes(hist)
    total = sum(counts) or 1
    width = (last - first + 1) / sf.HIST_BUCKETS
    got = 0.0
    for b, c in enumerate(counts):
        if not c:
            continue
        lo = first + b * width
        hi = lo + width
        overlap = max(0.0, min(hi, end + 1) - max(lo, start))
        got += c * overlap / width
    return got / total


def visible_segments(segments: list[SegmentInfo]) -> list[SegmentInfo]:
    """The segments that can be shown: from the first base whose references are all there
    (after retention, the segments before it only hold versions it refers to)."""
    present = {s.seq for s in segments}
    for i, s in enumerate(segments):
        if s.base and all(seq in present for seq in range(s.refs_from, s.seq + 1)):
            return segments[i:]
    return []


def visible_start(all_segments: list[SegmentInfo], shown: list[SegmentInfo]) -> int | None:
    """The first moment shown: the recording's first change, or after retention just past the
    last segment kept only for its versions."""
    if not shown:
        return None
    first = shown[0]
    before = [s for s in all_segments if s.seq < first.seq and s.changes]
    if before:
        return before[-1].last_t + 1
    with_changes = [s for s in shown if s.changes]
    return with_changes[0].first_t if with_changes else None
