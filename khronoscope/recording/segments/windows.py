"""One type in one segment, as the reads need it.

`TypeLog` is what the segment's `index` section says: the objects of the type that changed,
each version's time, kind and record, and every change in time order. It answers change
queries (steps, history, what changed) without knowing the state at the segment's start.
`TypeWindow` adds that state (for every object then alive, where its version is), and so
answers "which version of which object is in force at t" for any t in the segment.
`StartStates` derives a segment's start state from its base's, applying the logs in between.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator

from khronoscope.core.types import ObjectKey
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.catalog import Damage, SegmentedRecording

KID_BITS = 32
KID_MASK = (1 << KID_BITS) - 1

Key = tuple[str, str]
# where a version is: (time it began, segment seq, record id)
Ref = tuple[int, int, int]


class TypeLog:
    """The changes of one type in one segment (from its `index` section)."""

    __slots__ = ("entries", "index", "keys", "kinds", "off", "rids", "seq", "times", "type")

    def __init__(self, seq: int, type_: str, ix: sf.TypeIndex | None) -> None:
        self.seq = seq
        self.type = type_
        self.keys: list[ObjectKey] = []
        self.index: dict[Key, int] = {}
        self.off = array("I", [0])
        self.times = array("q")
        self.kinds = b""
        self.rids = array("q")
        entries: list[int] = []
        if ix is not None:
            self.keys = [ObjectKey(type_, ns, name) for ns, name in ix.keys]
            self.index = {k: i for i, k in enumerate(ix.keys)}
            self.times = ix.times
            self.kinds = ix.kinds
            carried = ix.carried
            rid = 0
            pos = 0
            rids = array("q")
            off = self.off
            for j, n in enumerate(ix.counts):
                if carried and carried[j]:
                    rid += 1
                for p in range(pos, pos + n):
                    if ix.kinds[p] == sf.DELETED:
                        rids.append(-1)
                    else:
                        rids.append(rid)
                        rid += 1
                    entries.append((ix.times[p] << KID_BITS) | j)
                pos += n
                off.append(pos)
            self.rids = rids
            entries.sort()
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def span(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        """Positions in `entries` of the changes with lo <= t <= hi."""
        a = 0 if lo is None else bisect_left(self.entries, lo << KID_BITS)
        b = (
            len(self.entries)
            if hi is None
            else bisect_right(self.entries, (hi << KID_BITS) | KID_MASK)
        )
        return a, b

    def kind_at(self, entry: int) -> int:
        """The kind of the change a log entry names."""
        j = entry & KID_MASK
        t = entry >> KID_BITS
        p = bisect_right(self.times, t, self.off[j], self.off[j + 1]) - 1
        return self.kinds[p]

    def versions(self, key: ObjectKey) -> list[tuple[int, int, int]]:
        """(time, kind, record id) of every version of `key` in the segment."""
        j = self.index.get((key.namespace, key.name))
        if j is None:
            return []
        lo, hi = self.off[j], self.off[j + 1]
        return [(self.times[p], self.kinds[p], self.rids[p]) for p in range(lo, hi)]

    def last_refs(self) -> Iterator[tuple[Key, Ref | None]]:
        """Per object changed here: where its newest version is (None: deleted)."""
        times, kinds, rids, off, seq = self.times, self.kinds, self.rids, self.off, self.seq
        for k, j in self.index.items():
            p = off[j + 1] - 1
            if p < off[j]:
                continue  # only carried here (a base's copy): its ref is in the base's state
            yield k, None if kinds[p] == sf.DELETED else (times[p], seq, rids[p])


class TypeWindow:
    """A TypeLog plus the state at the segment's start: the version of any object at any t in
    the segment. Local key ids: the log's first, then objects only in the start state."""

    __slots__ = ("by_ns", "keys", "kid_of", "log", "s_rid", "s_seq", "s_vt", "serial")

    def __init__(self, log: TypeLog, start: dict[Key, Ref], serial: int) -> None:
        self.log = log
        self.serial = serial
        keys = list(log.keys)
        kid_of: dict[Key, int] = dict(log.index)
        n_log = len(keys)
        s_vt = array("q", bytes(8 * n_log))
        s_seq = array("q", [-1]) * n_log
        s_rid = array("q", bytes(8 * n_log))
        type_ = log.type
        for k, (vt, seq, rid) in start.items():
            j = kid_of.get(k)
            if j is None:
                j = kid_of[k] = len(keys)
                keys.append(ObjectKey(type_, k[0], k[1]))
                s_vt.append(vt)
                s_seq.append(seq)
                s_rid.append(rid)
            else:
                s_vt[j], s_seq[j], s_rid[j] = vt, seq, rid
        self.keys = keys
        self.kid_of = kid_of
        self.s_vt, self.s_seq, self.s_rid = s_vt, s_seq, s_rid
        by_ns: dict[str, list[int]] = {}
        for j, key in enumerate(keys):
            lst = by_ns.get(key.namespace)
            if lst is None:
                lst = by_ns[key.namespace] = []
            lst.append(j)
        self.by_ns = by_ns

    @property
    def weight(self) -> int:
        """Rough bytes held (for the cache's budget)."""
        return 400 * len(self.keys) + 40 * len(self.log.times)

    def ref(self, j: int, t: int) -> Ref | None:
        """Where the version of local key j in force at t is; None when it does not exist."""
        log = self.log
        if j < len(log.keys):
            lo, hi = log.off[j], log.off[j + 1]
            p = bisect_right(log.times, t, lo, hi) - 1
            if p >= lo:
                return None if log.kinds[p] == sf.DELETED else (log.times[p], log.seq, log.rids[p])
        seq = self.s_seq[j]
        return None if seq < 0 else (self.s_vt[j], seq, self.s_rid[j])

    def ref_of(self, key: ObjectKey, t: int) -> Ref | None:
        """`ref` by key."""
        j = self.kid_of.get((key.namespace, key.name))
        return None if j is None else self.ref(j, t)

    def kids(self, namespaces: set[str] | None) -> Iterator[int]:
        """Local ids of the keys in some namespaces (None: all)."""
        if namespaces is None:
            yield from range(len(self.keys))
            return
        for ns in namespaces:
            yield from self.by_ns.get(ns, ())

    def end_state(self, start: dict[Key, Ref]) -> dict[Key, Ref]:
        """The state at the segment's end (the next segment's start)."""
        out = dict(start)
        for k, ref in self.log.last_refs():
            if ref is None:
                out.pop(k, None)
            else:
                out[k] = ref
        return out


class StartStates:
    """The state at a segment's start, per type: from its base's `state` section, then each
    segment's log up to it. The last few derived are kept (playing forward derives the next
    from the one before)."""

    def __init__(self, rec: SegmentedRecording, logs: LogCache, keep: int = 8) -> None:
        self.rec = rec
        self.logs = logs
        self.keep = keep
        self._cache: OrderedDict[tuple[int, str], dict[Key, Ref]] = OrderedDict()

    def clear(self) -> None:
        """Forget everything derived (segments were replaced)."""
        self._cache.clear()

    def at(self, seq: int, type_: str) -> dict[Key, Ref]:
        """The objects of `type_` alive at the start of segment `seq` (do not modify)."""
        found = self._cache.get((seq, type_))
        if found is not None:
            self._cache.move_to_end((seq, type_))
            return found
        seg = self.rec.segment(seq)
        if seg is None:
            return {}
        base = seg.base_seq
        # the nearest state already derived between the base and seq, else the base's own
        start_seq, state = base, None
        for s in range(seq - 1, base - 1, -1):
            cached = self._cache.get((s, type_))
            if cached is not None:
                start_seq, state = s, cached
                break
        if state is None:
            state = self._base_state(base, type_)
        state = dict(state) if start_seq < seq else state
        for s in range(start_seq, seq):
            log = self.logs.get(s, type_)
            if log is None:
                continue
            for k, ref in log.last_refs():
                if ref is None:
                    state.pop(k, None)
                else:
                    state[k] = ref
        self._keep((seq, type_), state)
        return state

    def _base_state(self, base: int, type_: str) -> dict[Key, Ref]:
        st = self.rec.type_state(base, type_)
        if st is None:
            return {}
        out: dict[Key, Ref] = {}
        rec = self.rec
        ix: sf.TypeIndex | None = None
        ix_seq = -1
        for back, rid in zip(st.back, st.rid, strict=True):
            seq = base - back
            if seq != ix_seq:
                ix, ix_seq = rec.type_index(seq, type_), seq
            if ix is None or rid >= len(ix.lens):
                continue  # the referenced segment is gone or damaged (reported)
            j, vt = ix.record_owner(rid)
            out[ix.keys[j]] = (vt, seq, rid)
        return out

    def _keep(self, key: tuple[int, str], state: dict[Key, Ref]) -> None:
        self._cache[key] = state
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)


class LogCache:
    """TypeLogs by (seq, type), the most recently used kept."""

    def __init__(self, rec: SegmentedRecording, keep: int = 96) -> None:
        self.rec = rec
        self.keep = keep
        self._logs: OrderedDict[tuple[int, str], TypeLog] = OrderedDict()

    def clear(self) -> None:
        """Forget every log."""
        self._logs.clear()

    def peek(self, seq: int, type_: str) -> TypeLog | None:
        """The log if it is loaded already (None otherwise: nothing is read)."""
        return self._logs.get((seq, type_))

    def get(self, seq: int, type_: str) -> TypeLog | None:
        """The log of a type in a segment (None when the type has no change there)."""
        key = (seq, type_)
        found = self._logs.get(key)
        if found is not None:
            self._logs.move_to_end(key)
            return found
        seg = self.rec.segment(seq)
        if seg is None or "index" not in (seg.types.get(type_) or {}):
            return None
        ix = self.rec.type_index(seq, type_)
        if ix is None:
            return None  # damaged: reported by the catalog
        log = TypeLog(seq, type_, ix)
        self._logs[key] = log
        while len(self._logs) > self.keep:
            self._logs.popitem(last=False)
        return log


def damage_of(rec: SegmentedRecording) -> list[Damage]:
    """What the catalog found unreadable so far."""
    return list(rec.damage)
