"""TemporalMap: every version of every object, and the indexes that make any moment a query."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from sortedcontainers import SortedList

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.temporal import codec
from khronoscope.temporal.chain import DELETE, Chain, KeyframePolicy, RowFn, decode_many
from khronoscope.temporal.codec import TypeCodec
from khronoscope.temporal.cold import BLOCK_RAW, ColdStore
from khronoscope.temporal.compactor import HORIZON, Compactor
from khronoscope.temporal.rows import ROW_CACHE, RowCache
from khronoscope.temporal.scope import CHECKPOINT_EVERY, Scope
from khronoscope.temporal.scope import KID_BITS as _KID_BITS
from khronoscope.temporal.scope import KID_MASK as _KID_MASK

Namespaces = str | Iterable[str] | None


class ChangeRef(NamedTuple):
    """A change without its content: fetch the object with `TemporalMap.get(key, t)`."""

    t: int
    key: ObjectKey
    kind: ChangeKind


@dataclass(frozen=True, slots=True)
class MemoryStats:
    """What the store holds, for the status line and the benchmarks."""

    objects: int
    versions: int
    stored_bytes: int
    hot_bytes: int
    raw_bytes: int
    dictionary_bytes: int
    cached_rows: int = 0

    @property
    def ratio(self) -> float:
        """Stored (compressed history + dictionaries) over the raw msgpack of every version."""
        return (self.stored_bytes + self.dictionary_bytes) / self.raw_bytes if self.raw_bytes else 0


class TemporalMap:
    """The cluster's past: `put`/`delete` versions at ns times; query any moment.

    `row_fn(type, obj)` computes a small summary of a version (the printed columns of a table)
    when a view asks for it (`row`, `rows_at`, a Cursor's rows); the rows of the last
    `row_cache` versions asked for are kept (see rows.py), none is stored per version.
    Index entries are ints `(t << 32) | key_id` in one SortedList per (type, namespace): compact,
    GC-free, and ordered by time. Versions go cold (packed into blocks, see compactor.py) once
    their object is deleted or `cold_after` writes later.
    """

    def __init__(
        self,
        row_fn: RowFn | None = None,
        policy: KeyframePolicy | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        cold_after: int = HORIZON,
        block_raw: int = BLOCK_RAW,
        row_cache: int = ROW_CACHE,
    ) -> None:
        self._rows = RowCache(row_fn, row_cache)
        self._checkpoint_every = checkpoint_every
        self._policy = policy or KeyframePolicy()
        self._chains: dict[ObjectKey, Chain] = {}
        # by key id; a chain trimmed away entirely leaves no entry (ids are never reused): a
        # recorder that runs for days creates millions of objects and keeps a few thousand
        self._by_kid: dict[int, Chain] = {}
        self._next_kid = 0
        self._scopes: dict[str, dict[str, Scope]] = {}
        self._codecs: dict[str, TypeCodec] = {}
        self._colds: dict[str, ColdStore] = {}
        self._block_raw = block_raw
        self._compactor = Compactor(cold_after)
        self._late: list[tuple[int, int]] = []
        # the furthest time any cursor has been to: a write at or before it may change a view
        # that a cursor already built, so it is logged for cursors to re-read
        self.horizon = -1
        self.trims = 0  # bumped by trim_before: cursors built before it rebuild
        self.first_t: int | None = None
        self.last_t: int | None = None
        self.change_count = 0
        self.listeners: list[Callable[[int, ObjectKey], None]] = []

    # --- writes ------------------------------------------------------------------------------

    def put(self, key: ObjectKey, t: int, obj: dict[str, Any]) -> bool:
        """Record `obj` as the version of `key` from t on; False if it equals what is in force."""
        return self._put(self._chain_for(key), t, codec.pack(obj))

    def put_raw(self, key: ObjectKey, t: int, raw: bytes) -> bool:
        """`put` for an object already packed with `codec.pack` (a recording's bytes): no repack."""
        return self._put(self._chain_for(key), t, raw)

    def _put(self, chain: Chain, t: int, raw: bytes) -> bool:
        late = len(chain.times) > 0 and t <= chain.times[-1]
        if not chain.put(t, raw):
            return False
        if late:  # it may replace the version at t: its row is not that version's any more
            self._rows.forget(chain.kid, t)
        self._indexed(chain, t)
        return True

    def backfill(self) -> Backfill:
        """A builder that adds history older than what the map holds (see `Backfill`)."""
        return Backfill(self)

    def delete(self, key: ObjectKey, t: int) -> bool:
        """Record that `key` is gone from t on; False if it does not exist at t."""
        chain = self._chains.get(key)
        if chain is None:
            return False
        late = len(chain.times) > 0 and t <= chain.times[-1]
        if not chain.delete(t):
            return False
        if late:
            self._rows.forget(chain.kid, t)
        self._indexed(chain, t)
        return True

    def _stores_for(self, type_: str) -> tuple[TypeCodec, ColdStore]:
        type_codec = self._codecs.get(type_)
        if type_codec is None:
            type_codec = self._codecs[type_] = TypeCodec()
            self._colds[type_] = ColdStore(type_codec, self._block_raw)
        return type_codec, self._colds[type_]

    def _chain_for(self, key: ObjectKey) -> Chain:
        chain = self._chains.get(key)
        if chain is None:
            type_codec, cold = self._stores_for(key.type)
            chain = Chain(key, self._next_kid, type_codec, self._policy, cold)
            self._next_kid += 1
            self._chains[key] = chain
            self._by_kid[chain.kid] = chain
            scope = self._scopes.setdefault(key.type, {}).get(key.namespace)
            if scope is None:
                scope = self._scopes[key.type][key.namespace] = Scope(self._checkpoint_every)
            scope.chains.append(chain)
        return chain

    def _indexed(self, chain: Chain, t: int) -> None:
        if self._scopes[chain.key.type][chain.key.namespace].add(chain, t):
            self.change_count += 1
        if self.last_t is None or t > self.last_t:
            self.last_t = t
        if t <= self.horizon:
            self._late.append((t, chain.kid))
        if self.first_t is None or t < self.first_t:
            self.first_t = t
        compactor = self._compactor
        compactor.wrote(chain)
        if compactor.full:
            compactor.step(self._colds)
        for listener in self.listeners:
            listener(t, chain.key)

    def compact(self) -> None:
        """Make every version cold now, whatever its age (normally writes do it as they go)."""
        for _ in self.compact_steps():
            pass

    def compact_steps(self) -> Iterator[None]:
        """`compact` a block per step, for callers that must stay responsive."""
        return self._compactor.drain(self._colds)

    def compact_step(self) -> bool:
        """Pack one block of versions ready to go cold (a backfill makes them ready without a
        write to pack them); True while a block's worth is left. About a millisecond a call."""
        return self._compactor.step(self._colds)

    # --- point reads -------------------------------------------------------------------------

    def get(self, key: ObjectKey, t: int) -> dict[str, Any] | None:
        """The object as it was at t, or None if it did not exist then."""
        chain = self._chains.get(key)
        if chain is None:
            return None
        i = chain.index_at(t)
        if i < 0 or chain.ops[i] == DELETE:
            return None
        return chain.obj_of(i)

    def row(self, key: ObjectKey, t: int) -> Hashable | None:
        """The summary row of `key` at t, or None if it did not exist then (computed by
        `row_fn` unless one of the last versions asked for; True without a `row_fn`)."""
        chain = self._chains.get(key)
        if chain is None:
            return None
        i = chain.put_index_at(t)
        return self._rows.get(chain, i) if i >= 0 else None

    @property
    def rows_computed(self) -> int:
        """Rows computed by `row_fn` since the map was made (what the views cost)."""
        return self._rows.computed

    def version_at(self, key: ObjectKey, t: int) -> int | None:
        """The time of the version of `key` in force at t; None if it did not exist then."""
        chain = self._chains.get(key)
        if chain is None:
            return None
        i = chain.put_index_at(t)
        return chain.times[i] if i >= 0 else None

    def raw_at(self, key: ObjectKey, t: int) -> bytes | None:
        """The msgpack bytes of `key` at t (compare versions without decoding them)."""
        chain = self._chains.get(key)
        if chain is None:
            return None
        i = chain.put_index_at(t)
        return chain.raw_of(i) if i >= 0 else None

    def history(self, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
        """Every change of one object: (time, kind), oldest first."""
        chain = self._chains.get(key)
        return list(chain.versions()) if chain is not None else []

    def version_times(self, key: ObjectKey) -> list[int]:
        """The times at which `key` changed, oldest first."""
        chain = self._chains.get(key)
        return list(chain.times) if chain is not None else []

    def __contains__(self, key: object) -> bool:
        return key in self._chains

    # --- moments -----------------------------------------------------------------------------

    def types(self) -> list[str]:
        """Every type name that has objects in the store."""
        return sorted(self._scopes)

    def namespaces(self, type: str | None = None) -> list[str]:
        """Every namespace ever seen (of one type, or of all)."""
        if type is not None:
            return sorted(self._scopes.get(type, {}))
        return sorted({ns for scopes in self._scopes.values() for ns in scopes})

    def keys_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> list[ObjectKey]:
        """Keys of the objects that exist at t (only the requested type and namespaces touched)."""
        return [c.key for c in self._alive_candidates(t, type, namespace) if c.exists_at(t)]

    def state_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, dict[str, Any]]:
        """Every object that exists at t, decoded (use `rows_at` or a Cursor for tables)."""
        versions = self._versions_in_force(t, type, namespace)
        objs = decode_many(versions)
        return {chain.key: obj for (chain, _), obj in zip(versions, objs, strict=True)}

    def rows_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, Hashable]:
        """The summary row of every object that exists at t (each decoded unless its row is
        kept: a view of what is on screen costs less, see Cursor)."""
        versions = self._versions_in_force(t, type, namespace)
        rows = self._rows.get_many(versions)
        return {chain.key: row for (chain, _), row in zip(versions, rows, strict=True)}

    def rows_of(self, keys: Iterable[ObjectKey], t: int) -> dict[ObjectKey, Hashable]:
        """The rows at t of the given keys that exist then (misses decoded in one pass)."""
        versions: list[tuple[Chain, int]] = []
        chains = self._chains
        for key in keys:
            chain = chains.get(key)
            if chain is not None:
                i = chain.put_index_at(t)
                if i >= 0:
                    versions.append((chain, i))
        rows = self._rows.get_many(versions)
        return {chain.key: row for (chain, _), row in zip(versions, rows, strict=True)}

    def versions_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, int]:
        """For every object that exists at t, the time of its version in force (nothing is
        decoded: a Cursor's keys)."""
        out: dict[ObjectKey, int] = {}
        for chain in self._alive_candidates(t, type, namespace):
            i = chain.put_index_at(t)
            if i >= 0:
                out[chain.key] = chain.times[i]
        return out

    def _versions_in_force(
        self, t: int, type: str | None, namespace: Namespaces
    ) -> list[tuple[Chain, int]]:
        out: list[tuple[Chain, int]] = []
        for chain in self._alive_candidates(t, type, namespace):
            i = chain.put_index_at(t)
            if i >= 0:
                out.append((chain, i))
        return out

    def _scopes_in(self, type: str | None, namespace: Namespaces) -> list[Scope]:
        types = [type] if type is not None else list(self._scopes)
        wanted = _ns_set(namespace)
        return [
            scope
            for ty in types
            for ns, scope in self._scopes.get(ty, {}).items()
            if wanted is None or ns in wanted
        ]

    def _alive_candidates(self, t: int, type: str | None, namespace: Namespaces) -> Iterator[Chain]:
        by_kid = self._by_kid
        for scope in self._scopes_in(type, namespace):
            for kid in scope.candidates(t):
                yield by_kid[kid]

    # --- changes -----------------------------------------------------------------------------

    def _lists(self, type: str | None, namespace: Namespaces) -> list[SortedList]:
        return [scope.entries for scope in self._scopes_in(type, namespace)]

    def _ref(self, entry: int) -> ChangeRef:
        t = entry >> _KID_BITS
        chain = self.chain_by_kid(entry & _KID_MASK)
        return ChangeRef(t, chain.key, chain.kind_of(chain.index_at(t)))

    def changes(
        self,
        start: int | None = None,
        end: int | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> Iterator[ChangeRef]:
        """Changes with start <= t <= end, in time order (both bounds optional)."""
        lo = None if start is None else start << _KID_BITS
        hi = None if end is None else (end << _KID_BITS) | _KID_MASK
        streams = [entries.irange(lo, hi) for entries in self._lists(type, namespace)]
        for entry in heapq.merge(*streams):
            yield self._ref(entry)

    def changed_keys(
        self, after: int, upto: int, type: str, namespace: Namespaces = None
    ) -> tuple[set[int], int]:
        """Key ids changed in (after, upto] and how many changes that is (for the cursor)."""
        lo = (after << _KID_BITS) | _KID_MASK
        hi = (upto << _KID_BITS) | _KID_MASK
        kids: set[int] = set()
        crossed = 0
        for entries in self._lists(type, namespace):
            for entry in entries.irange(lo, hi, inclusive=(False, True)):
                kids.add(entry & _KID_MASK)
                crossed += 1
        return kids, crossed

    def count_changes(
        self, start: int, end: int, type: str | None = None, namespace: Namespaces = None
    ) -> int:
        """How many changes with start <= t <= end (cheap: two bisects per index list)."""
        lo = start << _KID_BITS
        hi = (end << _KID_BITS) | _KID_MASK
        return sum(e.bisect_right(hi) - e.bisect_left(lo) for e in self._lists(type, namespace))

    def next_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the first change strictly after t (of one key, or of a type/namespace scope)."""
        if key is not None:
            chain = self._chains.get(key)
            if chain is None:
                return None
            i = chain.index_at(t) + 1
            return chain.times[i] if i < len(chain.times) else None
        bound = (t << _KID_BITS) | _KID_MASK
        best: int | None = None
        for entries in self._lists(type, namespace):
            i = entries.bisect_right(bound)
            if i < len(entries):
                cand = entries[i] >> _KID_BITS
                if best is None or cand < best:
                    best = cand
        return best

    def previous_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the last change strictly before t (of one key, or of a type/namespace scope)."""
        if key is not None:
            chain = self._chains.get(key)
            if chain is None:
                return None
            i = chain.index_at(t - 1)
            return chain.times[i] if i >= 0 else None
        bound = t << _KID_BITS
        best: int | None = None
        for entries in self._lists(type, namespace):
            i = entries.bisect_left(bound)
            if i > 0:
                cand = entries[i - 1] >> _KID_BITS
                if best is None or cand > best:
                    best = cand
        return best

    # --- for cursors -------------------------------------------------------------------------

    def key_of(self, kid: int) -> ObjectKey:
        """The key of key id `kid` (from `changed_keys` or `late_writes_since`)."""
        return self.chain_by_kid(kid).key

    def chain_by_kid(self, kid: int) -> Chain:
        """The chain with key id `kid` (ids are stable for the life of the map)."""
        chain = self._by_kid.get(kid)
        assert chain is not None, "a trimmed chain is not indexed any more"
        return chain

    def trim_before(self, t: int) -> int:
        """Forget history no read at or after t needs (a long-running recorder keeps its memory
        bounded this way; the recording file keeps everything). Reads at or after t are
        unchanged; the store then starts at t. Returns how many versions were dropped."""
        dropped = 0
        gone: set[int] = set()
        for type_, scopes in list(self._scopes.items()):
            for scope in scopes.values():
                alive = {kid for kid in scope.candidates(t) if self.chain_by_kid(kid).exists_at(t)}
                dead: set[int] = set()
                for chain in scope.chains:
                    dropped += chain.trim_before(t)
                    if not len(chain):
                        dead.add(chain.kid)
                self.change_count -= scope.trim_before(t, alive, dead)
                for kid in dead:
                    chain = self.chain_by_kid(kid)
                    del self._chains[chain.key]
                    del self._by_kid[kid]
                gone |= dead
            # a namespace with nothing left (CI makes and drops them all day) leaves nothing
            for ns in [ns for ns, scope in scopes.items() if not scope.chains]:
                del scopes[ns]
            if not scopes:
                del self._scopes[type_]
        self._compactor.forget(gone)
        # every cursor reads the map afresh after a trim: the late writes it would re-read go
        self._late = []
        if self.first_t is not None and t > self.first_t:
            self.first_t = t
        self.trims += 1
        return dropped

    def chains(self, type: str | None = None, namespace: Namespaces = None) -> Iterator[Chain]:
        """Chains of every key ever seen in a scope."""
        for scope in self._scopes_in(type, namespace):
            yield from scope.chains

    def keys_named(
        self, name: str, types: Iterable[str] | None = None, namespace: str | None = None
    ) -> list[ObjectKey]:
        """Objects called `name` ever stored (of some types, in one namespace)."""
        wanted = set(types) if types is not None else None
        return sorted(
            key
            for key in self._chains
            if key.name == name
            and (wanted is None or key.type in wanted)
            and (namespace is None or key.namespace == namespace)
        )

    def late_writes_since(self, mark: int) -> tuple[list[tuple[int, int]], int]:
        """Writes at or before a time a cursor had reached, logged after position `mark`."""
        return self._late[mark:], len(self._late)

    # --- accounting --------------------------------------------------------------------------

    def memory_stats(self) -> MemoryStats:
        """Objects, versions, stored (compressed) bytes, hot bytes and raw bytes."""
        chains = list(self._by_kid.values())
        return MemoryStats(
            objects=len(chains),
            versions=sum(len(c) for c in chains),
            stored_bytes=sum(c.stored_bytes for c in chains)
            + sum(s.bytes for s in self._colds.values()),
            hot_bytes=sum(c.hot_bytes for c in chains),
            raw_bytes=sum(c.raw_bytes for c in chains),
            dictionary_bytes=sum(c.dictionary_bytes for c in self._codecs.values()),
            cached_rows=len(self._rows),
        )


class Backfill:
    """Older history added in bulk: build per-key prefixes in time order, then `commit`.

    Lets a recording show its newest moment first (one version per object) and then fill the
    past window by window, newest window first, at the cost of an append per version plus one
    splice per key and window (a `put` before existing versions would rebuild the chain each
    time). A version at or after the first one the map holds for its key is ignored: the map
    wins for its times. Prefixes are private until `commit`, which touches the map in one go.
    Committed history is ready to go cold at once: `TemporalMap.compact_step` packs it.
    """

    def __init__(self, tmap: TemporalMap) -> None:
        self._map = tmap
        self._prefixes: dict[ObjectKey, Chain] = {}

    def _limit(self, key: ObjectKey) -> int | None:
        chain = self._map._chains.get(key)
        return chain.times[0] if chain is not None and len(chain.times) else None

    def _prefix(self, key: ObjectKey) -> Chain:
        chain = self._prefixes.get(key)
        if chain is None:
            m = self._map
            type_codec, cold = m._stores_for(key.type)
            chain = self._prefixes[key] = Chain(key, -1, type_codec, m._policy, cold)
        return chain

    def put_raw(self, key: ObjectKey, t: int, raw: bytes) -> None:
        """An older version of `key` (msgpack bytes); calls for one key in time order."""
        limit = self._limit(key)
        if limit is not None and t >= limit:
            return
        self._prefix(key).put(t, raw)

    def delete(self, key: ObjectKey, t: int) -> None:
        """An older delete of `key`; ignored when the key does not exist at t in the prefix."""
        limit = self._limit(key)
        if limit is not None and t >= limit:
            return
        prefix = self._prefixes.get(key)
        if prefix is not None:
            prefix.delete(t)

    def __len__(self) -> int:
        return sum(len(c) for c in self._prefixes.values())

    def commit(self) -> int:
        """Splice every prefix into the map; returns the number of versions added."""
        m = self._map
        added = 0
        touched: dict[int, tuple[Scope, int, int]] = {}
        for key, prefix in self._prefixes.items():
            if not len(prefix):
                continue
            chain = m._chains.get(key)
            old_first: int | None = None
            if chain is None:
                chain = m._chain_for(key)
                drop_first = False
            else:
                old_first = chain.times[0]
                # a first version equal to the prefix's last is the same version seen twice
                # (a keyframe's copy): keep the older, real one
                drop_first = (
                    prefix.ops[-1] != DELETE
                    and chain.ops[0] != DELETE
                    and prefix.last_raw() == chain.raw_of(0)
                )
            scope = m._scopes[key.type][key.namespace]
            if drop_first:
                scope.entries.remove((chain.times[0] << _KID_BITS) | chain.kid)
                m.change_count -= 1
            chain.splice_before(prefix, drop_first)
            scope.entries.update((t << _KID_BITS) | chain.kid for t in prefix.times)
            if old_first is None and chain.ops[-1] != DELETE:
                scope.live.add(chain.kid)
            first, last = prefix.times[0], prefix.times[-1]
            # checkpoints between the prefix and the old first version may now see it
            scope.fix_span(chain, first, old_first if old_first is not None else None)
            lo, hi = touched.get(id(scope), (scope, first, last))[1:]
            touched[id(scope)] = (scope, min(lo, first), max(hi, last))
            n = len(prefix)
            m.change_count += n
            added += n - (1 if drop_first else 0)
            if m.first_t is None or first < m.first_t:
                m.first_t = first
            if m.last_t is None or last > m.last_t:
                m.last_t = last
            if first <= m.horizon:
                m._late.append((first, chain.kid))
            m._compactor.backfilled(chain)
            for listener in m.listeners:
                listener(first, key)
        for scope, lo, hi in touched.values():
            scope.checkpoint_range(lo, hi, m._by_kid)
        self._prefixes = {}
        return added


def _ns_set(namespace: Namespaces) -> set[str] | None:
    if namespace is None:
        return None
    if isinstance(namespace, str):
        return {namespace}
    return set(namespace)
