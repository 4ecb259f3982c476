"""One type in one segment, as the reads need it.

`TypeLog` is what the segment's `index` section says: the objects of the type that changed,
each version's time, kind and record, and every change in time order. It answers change
queries (steps, history, what changed) without knowing the state at the segment's start.
`TypeWindow` adds that state (for every object then alive, where its version is), and so
answers "which version of which object is in force at t" for any t in the segment.
`StartStates` derives a segment's start state from its base's, applying the logs in between.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from khronoscope.core.types import ObjectKey
from khronoscope.recording.segments import segfmt as sf
from khronoscope.recording.segments.catalog import Damage, SegmentedRecording
from khronoscope.recording.segments.lru import ByteLRU

KID_BITS = 32
KID_MASK = (1 << KID_BITS) - 1

Key = tuple[str, str]
# where a version is: (time it began, segment seq, record id)
Ref = tuple[int, int, int]


class TypeLog:
    """The changes of one type in one segment (from its `index` section): per key lookups,
    and, built when a change query first needs it, every change in time order."""

    __slots__ = ("_entries", "index", "ix", "keys", "seq", "type")

    def __init__(self, seq: int, type_: str, ix: sf.TypeIndex | None) -> None:
        self.seq = seq
        self.type = type_
        self.ix = ix
        if ix is None:
            self.keys: list[ObjectKey] = []
            self.index: dict[Key, int] = {}
        else:
            pairs = ix.keys
            self.keys = [ObjectKey(type_, ns, name) for ns, name in pairs]
            self.index = dict(zip(pairs, range(len(pairs)), strict=True))
        self._entries: list[int] | None = None

    @property
    def has_entries(self) -> bool:
        """True once the time-ordered changes are built (counting them is then exact and
        cheap; building them costs ~1 us a version)."""
        return self._entries is not None

    @property
    def entries(self) -> list[int]:
        """Every change as `(t << KID_BITS) | key index`, in time order."""
        if self._entries is None:
            ix = self.ix
            out: list[int] = []
            if ix is not None:
                g, off, first_t = ix.g, ix.off, ix.first_t
                for j in range(len(ix)):
                    lo, hi = off[j], off[j + 1]
                    if lo == hi:
                        continue
                    base = first_t - (g[lo - 1] if lo else 0)
                    out.extend(((base + g[p]) << KID_BITS) | j for p in range(lo, hi))
                out.sort()
            self._entries = out
        return self._entries

    def span(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        """Positions in `entries` of the changes with lo <= t <= hi."""
        entries = self.entries
        a = 0 if lo is None else bisect_left(entries, lo << KID_BITS)
        b = len(entries) if hi is None else bisect_right(entries, (hi << KID_BITS) | KID_MASK)
        return a, b

    def kind_at(self, entry: int) -> int:
        """The kind of the change a log entry names."""
        assert self.ix is not None
        return self.ix.kinds[self.ix.at(entry & KID_MASK, entry >> KID_BITS)]

    def versions(self, key: ObjectKey) -> list[tuple[int, int, int]]:
        """(time, kind, record id) of every version of `key` in the segment (-1: a delete)."""
        j = self.index.get((key.namespace, key.name))
        ix = self.ix
        if j is None or ix is None:
            return []
        return ix.versions_of(j)

    def ref(self, j: int, t: int) -> Ref | bool | None:
        """Where key j's version in force at t is; None: deleted by then; False: no version
        of it here by t (the state at the segment's start decides)."""
        ix = self.ix
        if ix is None or j >= len(ix):
            return False
        p = ix.at(j, t)
        if p < ix.off[j]:
            return False
        if ix.kinds[p] == sf.DELETED:
            return None
        return ix.time(j, p), self.seq, ix.rid(j, p)

    def last_refs(self) -> Iterator[tuple[Key, Ref | None]]:
        """Per object changed here: where its newest version is (None: deleted)."""
        ix = self.ix
        if ix is None:
            return
        seq = self.seq
        off = ix.off
        last = ix.last
        for j, k in enumerate(ix.keys):
            if off[j] == off[j + 1]:
                continue  # only carried here (a base's copy): its ref is in the base's state
            found = last(j)
            yield k, None if found is None else (found[0], seq, found[1])


class TypeWindow:
    """A TypeLog plus the state at the segment's start: the version of any object at any t in
    the segment. Local key ids: the log's first, then objects only in the start state."""

    __slots__ = ("by_ns", "keys", "kid_of", "log", "n_log", "serial", "start")

    def __init__(self, log: TypeLog, start: dict[Key, Ref], serial: int) -> None:
        self.log = log
        self.serial = serial
        self.start = start
        keys = list(log.keys)
        kid_of: dict[Key, int] = dict(log.index)
        self.n_log = len(keys)
        type_ = log.type
        for k in start:
            if k not in kid_of:
                kid_of[k] = len(keys)
                keys.append(ObjectKey(type_, k[0], k[1]))
        self.keys = keys
        self.kid_of = kid_of
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
        ix = self.log.ix
        return 300 * len(self.keys) + (24 * len(ix.kinds) if ix is not None else 0)

    def ref(self, j: int, t: int) -> Ref | None:
        """Where the version of local key j in force at t is; None when it does not exist."""
        if j < self.n_log:
            found = self.log.ref(j, t)
            if found is not False:
                return found  # type: ignore[return-value]
        key = self.keys[j]
        return self.start.get((key.namespace, key.name))

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

    def __init__(
        self, rec: SegmentedRecording, logs: LogCache, budget: int = 32 * 1024 * 1024
    ) -> None:
        self.rec = rec
        self.logs = logs
        # ~200 bytes an entry: a key tuple, a ref tuple and the dict's slot
        self._cache: ByteLRU[tuple[int, str], dict[Key, Ref]] = ByteLRU(
            budget, lambda state: 200 * len(state) + 256
        )

    def clear(self) -> None:
        """Forget everything derived (segments were replaced)."""
        self._cache.clear()

    def at(self, seq: int, type_: str) -> dict[Key, Ref]:
        """The objects of `type_` alive at the start of segment `seq` (do not modify)."""
        found = self._cache.get((seq, type_))
        if found is not None:
            return found
        seg = self.rec.segment(seq)
        if seg is None:
            return {}
        base = seg.base_seq
        # the segments from the base up to seq, in order (sequence numbers may have holes:
        # spools read back are numbered apart)
        between = [s.seq for s in self.rec.segments if base <= s.seq < seq]
        # the nearest state already derived between the base and seq, else the base's own
        start, state = 0, None
        for i in range(len(between) - 1, 0, -1):
            cached = self._cache.peek((between[i], type_))
            if cached is not None:
                start, state = i, cached
                break
        if state is None:
            state = self._base_state(base, type_)
        state = dict(state) if between else state
        for s in between[start:]:
            seg_s = self.rec.segment(s)
            if seg_s is None or "index" not in (seg_s.types.get(type_) or {}):
                continue
            ix = self.rec.type_index(s, type_)
            if ix is None:
                continue  # damaged: reported by the catalog
            apply_last(state, ix, s)
        self._keep((seq, type_), state)
        return state

    def _base_state(self, base: int, type_: str) -> dict[Key, Ref]:
        st = self.rec.type_state(base, type_)
        if st is None:
            return {}
        out: dict[Key, Ref] = {}
        rec = self.rec
        # references are sorted by (segments back, record id): one walk per segment
        runs: dict[int, list[int]] = {}
        for back, rid in zip(st.back, st.rid, strict=True):
            runs.setdefault(base - back, []).append(rid)
        for seq, rids in runs.items():
            ix = rec.type_index(seq, type_)
            if ix is None:
                continue  # the referenced segment is gone or damaged (reported)
            rids = [r for r in rids if r < len(ix.lens)]
            keys = ix.keys
            for rid, (j, vt) in zip(rids, ix.owners(rids), strict=True):
                out[keys[j]] = (vt, seq, rid)
        return out

    def _keep(self, key: tuple[int, str], state: dict[Key, Ref]) -> None:
        self._cache.put(key, state)


def apply_last(state: dict[Key, Ref], ix: sf.TypeIndex, seq: int) -> None:
    """Bring a state past segment `seq`: each object changed there now has its newest version
    there (or is gone). Costs a few operations per key, none per version."""
    off, kinds, g, puts, first_t = ix.off, ix.kinds, ix.g, ix.puts, ix.first_t
    carried = ix.carried_upto
    for j, k in enumerate(ix.keys):
        lo, hi = off[j], off[j + 1]
        if lo == hi:
            continue
        if kinds[hi - 1] == sf.DELETED:
            state.pop(k, None)
        else:
            rid = puts[hi - 1] + (carried[j] if carried is not None else 0) - 1
            state[k] = (first_t + g[hi - 1] - (g[lo - 1] if lo else 0), seq, rid)


class LogCache:
    """TypeLogs by (seq, type), the most recently used kept within a byte budget."""

    def __init__(self, rec: SegmentedRecording, budget: int = 32 * 1024 * 1024) -> None:
        self.rec = rec
        self._logs: ByteLRU[tuple[int, str], TypeLog] = ByteLRU(budget, _log_weight)

    def clear(self) -> None:
        """Forget every log."""
        self._logs.clear()

    def peek(self, seq: int, type_: str) -> TypeLog | None:
        """The log if it is loaded already (None otherwise: nothing is read)."""
        return self._logs.peek((seq, type_))

    def get(self, seq: int, type_: str) -> TypeLog | None:
        """The log of a type in a segment (None when the type has no change there)."""
        key = (seq, type_)
        found = self._logs.get(key)
        if found is not None:
            return found
        seg = self.rec.segment(seq)
        if seg is None or "index" not in (seg.types.get(type_) or {}):
            return None
        ix = self.rec.type_index(seq, type_)
        if ix is None:
            return None  # damaged: reported by the catalog
        log = TypeLog(seq, type_, ix)
        self._logs.put(key, log)
        return log


def _log_weight(log: TypeLog) -> int:
    # its keys (ObjectKeys and the index dict) and, once built, its time-ordered entries
    ix = log.ix
    versions = len(ix.kinds) if ix is not None else 0
    return 200 * len(log.keys) + 48 * versions + 512


def damage_of(rec: SegmentedRecording) -> list[Damage]:
    """What the catalog found unreadable so far."""
    return list(rec.damage)
