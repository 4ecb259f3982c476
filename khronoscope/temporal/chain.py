"""One object's history: a chain of versions stored as keyframes and deltas, or cold.

Versions live in flat arrays (times, ops, end offsets into one bytearray) rather than one Python
object per version: a million versions then cost a few tens of MB and nothing for the cyclic GC to
scan. The newest version's msgpack bytes stay uncompressed: it is the base of the next delta and
makes live reads one msgpack decode. A cold version's record lives in the type's cold blocks (see
cold.py): a chain's versions are packed together, so their record ids run on, and only the first
of a run (and every ANCHOR_EVERY-th, to bound the walk back) keeps its 4-byte id in the bytearray;
the others have no bytes and the id of the cold version before them plus one. What follows a cold
version starts with a keyframe, so no delta ever needs a cold base.
"""

from __future__ import annotations

import gc
from array import array
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.temporal import codec
from khronoscope.temporal.codec import TypeCodec
from khronoscope.temporal.cold import ColdStore

KEYFRAME = 0
DELTA = 1
DELETE = 2
COLD = 3
REF_SIZE = 4
ANCHOR_EVERY = 16

RowFn = Callable[[str, dict[str, Any]], Hashable]


class KeyframePolicy:
    """When to start a new keyframe: once the deltas since the last one reach `ratio` times its
    size, or after `max_run` deltas, whichever comes first (bounds a point query's decode work).

    By default every hot version is a keyframe: versions go cold (packed into blocks, where they
    cost less than a delta) before long, and a keyframe is ~5x cheaper to make and to read back
    for packing than a delta (measured: ~8 + 5 us against ~30-45 + 20-30 us for a pod)."""

    def __init__(self, ratio: float = 1.0, max_run: int = 0) -> None:
        self.ratio = ratio
        self.max_run = max_run


class Chain:
    """Every version of one object, ordered by time; deletes are versions without content."""

    __slots__ = (
        "_codec",
        "_cold",
        "_delta_bytes",
        "_kf_size",
        "_last_raw",
        "_policy",
        "_run",
        "cq",
        "data",
        "ends",
        "hot_raw",
        "hot_since",
        "key",
        "kid",
        "ops",
        "raw_bytes",
        "times",
    )

    def __init__(
        self,
        key: ObjectKey,
        kid: int,
        type_codec: TypeCodec,
        policy: KeyframePolicy,
        cold: ColdStore,
    ) -> None:
        self.key = key
        self.kid = kid
        self.times = array("q")
        self.ops = bytearray()
        self.ends = array("Q")
        self.data = bytearray()
        self.raw_bytes = 0
        self._codec = type_codec
        self._cold = cold
        self._policy = policy
        # for the compactor: raw bytes of the versions not yet cold, the write serial at which
        # they started to pile up, and which of its queues the chain is in (0: none)
        self.hot_raw = 0
        self.hot_since = -1
        self.cq = 0
        self._last_raw: bytes | None = None
        self._kf_size = 0
        self._delta_bytes = 0
        self._run = 0

    # --- reads -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.times)

    def index_at(self, t: int) -> int:
        """Index of the version in force at t (the last one at or before t), -1 if none."""
        return bisect_right(self.times, t) - 1

    def exists_at(self, t: int) -> bool:
        """True when the object exists at t."""
        i = self.index_at(t)
        return i >= 0 and self.ops[i] != DELETE

    def kind_of(self, i: int) -> ChangeKind:
        """The change kind of version i: a put after nothing or a delete is ADDED."""
        if self.ops[i] == DELETE:
            return ChangeKind.DELETED
        if i == 0 or self.ops[i - 1] == DELETE:
            return ChangeKind.ADDED
        return ChangeKind.MODIFIED

    def put_index_at(self, t: int) -> int:
        """Index of the put version in force at t; -1 when the object does not exist then."""
        i = bisect_right(self.times, t) - 1
        return i if i >= 0 and self.ops[i] != DELETE else -1

    def raw_of(self, i: int) -> bytes:
        """The msgpack bytes of put version i (decodes from its keyframe)."""
        ops = self.ops
        if ops[i] == DELETE:
            raise ValueError("a delete has no content")
        if i == len(ops) - 1 and self._last_raw is not None:
            return self._last_raw
        if ops[i] == COLD:
            return self._cold.read(self.cold_ref(i))
        j = i
        while ops[j] != KEYFRAME:
            j -= 1
        raw = self._codec.decode_keyframe(self._blob(j))
        for k in range(j + 1, i + 1):
            if ops[k] == DELTA:
                raw = codec.delta_decode(raw, self._blob(k))
        return raw

    def obj_of(self, i: int) -> dict[str, Any]:
        """Put version i as a fresh dict."""
        return codec.unpack(self.raw_of(i))

    def _blob(self, i: int) -> bytes:
        start = self.ends[i - 1] if i else 0
        return bytes(self.data[start : self.ends[i]])

    def cold_ref(self, i: int) -> int:
        """The record id of cold version i."""
        ops, ends = self.ops, self.ends
        back = 0
        while True:
            if ops[i] == COLD:
                start = ends[i - 1] if i else 0
                if ends[i] != start:
                    return int.from_bytes(self.data[start : ends[i]], "little") + back
                back += 1
            i -= 1

    def _cold_rids(self) -> list[int]:
        """The record id of every version (-1 where it is not cold)."""
        ops, ends, data = self.ops, self.ends, self.data
        rids = [-1] * len(ops)
        rid = -1
        start = 0
        for i, op in enumerate(ops):
            end = ends[i]
            if op == COLD:
                rid = int.from_bytes(data[start:end], "little") if end != start else rid + 1
                rids[i] = rid
            start = end
        return rids

    def _rewrite(self, rids: list[int]) -> None:
        """Lay the bytearray out again with the given record ids of the cold versions (hot blobs
        are kept as they are): an id is written where it does not follow the one before."""
        ops, ends, old = self.ops, self.ends, self.data
        data = bytearray()
        start = 0
        prev = -2
        run = 0
        for i, rid in enumerate(rids):
            end = ends[i]
            if rid >= 0:
                if rid != prev + 1 or run >= ANCHOR_EVERY:
                    data += rid.to_bytes(REF_SIZE, "little")
                    run = 0
                run += 1
                prev = rid
            elif ops[i] != DELETE:
                data += old[start:end]
            start = end
            ends[i] = len(data)
        self.data = data

    @property
    def cold(self) -> ColdStore:
        """The cold blocks of this chain's type."""
        return self._cold

    def versions(self) -> Iterator[tuple[int, ChangeKind]]:
        """(time, kind) of every version, oldest first."""
        for i, t in enumerate(self.times):
            yield t, self.kind_of(i)

    @property
    def stored_bytes(self) -> int:
        """Compressed bytes of the history (the uncompressed newest version not included)."""
        return len(self.data)

    @property
    def hot_bytes(self) -> int:
        """Bytes of the newest version kept uncompressed."""
        return len(self._last_raw) if self._last_raw is not None else 0

    # --- writes ------------------------------------------------------------------------------

    def put(self, t: int, raw: bytes) -> bool:
        """Record version `raw` at t; False when it equals the version already in force at t."""
        n = len(self.times)
        if n == 0 or t > self.times[n - 1]:
            if n and self.ops[n - 1] != DELETE and raw == self._last_raw:
                return False
            self._append_put(t, raw)
            return True
        return self._insert(t, raw)

    def delete(self, t: int) -> bool:
        """Record that the object is gone from t on; False when it does not exist at t."""
        n = len(self.times)
        if n == 0:
            return False
        if t > self.times[n - 1]:
            if self.ops[n - 1] == DELETE:
                return False
            self._append_delete(t)
            return True
        return self._insert(t, None)

    def _append_put(self, t: int, raw: bytes) -> None:
        policy = self._policy
        base = self._last_raw
        if base is None or self._run >= policy.max_run or self.ops[-1] == COLD:
            blob = self._codec.encode_keyframe(raw)
            op = KEYFRAME
        else:
            blob = codec.delta_encode(base, raw)
            if self._delta_bytes + len(blob) > self._kf_size * policy.ratio:
                blob = self._codec.encode_keyframe(raw)
                op = KEYFRAME
            else:
                op = DELTA
        if op == KEYFRAME:
            self._kf_size = len(blob)
            self._delta_bytes = 0
            self._run = 0
        else:
            self._delta_bytes += len(blob)
            self._run += 1
        self.times.append(t)
        self.ops.append(op)
        self.data += blob
        self.ends.append(len(self.data))
        self.raw_bytes += len(raw)
        self.hot_raw += len(raw)
        self._last_raw = raw

    def _append_delete(self, t: int) -> None:
        # a deleted object rarely comes back under its name (pods get new names): do not keep
        # its newest version uncompressed; a re-create starts with a keyframe
        self._last_raw = None
        self._kf_size = self._delta_bytes = self._run = 0
        self.times.append(t)
        self.ops.append(DELETE)
        self.ends.append(len(self.data))

    def _insert(self, t: int, raw: bytes | None) -> bool:
        """A late write: rebuild the chain from the keyframe before it (rare, so kept simple).

        Same rule as in-order writes: a write equal to the state in force at t is ignored; a
        write at the time of an existing version replaces it.
        """
        i = bisect_right(self.times, t) - 1
        in_force = i >= 0 and self.ops[i] != DELETE
        if raw is None:
            if not in_force:
                return False
        elif in_force and self.raw_of(i) == raw:
            return False
        replace = i >= 0 and self.times[i] == t
        start = max(i, 0)
        # a cold version decodes on its own: the rebuild can start there
        while start > 0 and self.ops[start] not in (KEYFRAME, COLD):
            start -= 1
        tail: list[tuple[int, bytes | None]] = []
        for k in range(start, len(self.times)):
            op = self.ops[k]
            content = None if op == DELETE else self.raw_of(k)
            if op < DELETE:
                self.hot_raw -= len(content or b"")  # re-counted as it is appended again
            if k == i and replace:
                continue
            tail.append((self.times[k], content))
        self._truncate(start)
        tail.append((t, raw))
        tail.sort(key=lambda v: v[0])
        for vt, content in tail:
            if content is None:
                self._append_delete(vt)
            else:
                self.raw_bytes -= len(content)  # it was counted when first written
                self._append_put(vt, content)
        if raw is not None:
            self.raw_bytes += len(raw)
        return True

    def splice_before(self, prefix: Chain, drop_first: bool) -> None:
        """Put the versions of `prefix` (all older than ours) in front of ours, in place.

        `prefix` must share this chain's codec. Our first version is a keyframe (every chain
        starts with one), so our blobs stay decodable; with `drop_first` it is dropped, which is
        only valid when it equals prefix's last version (then our next delta's base is unchanged).
        """
        k = 1 if drop_first else 0
        rids = self._cold_rids() if COLD in self.ops else None
        if k:
            first = len(self.raw_of(0))
            self.raw_bytes -= first
            if self.ops[0] == COLD:
                self._cold.release(self.cold_ref(0))
            else:
                self.hot_raw -= first
        cut = self.ends[k - 1] if k else 0
        shift = len(prefix.data) - cut
        emptied = len(self.times) == k
        self.times = prefix.times + self.times[k:]
        self.ops = prefix.ops + self.ops[k:]
        self.ends = prefix.ends + array("Q", (e + shift for e in self.ends[k:]))
        self.data = prefix.data + self.data[cut:]
        self.raw_bytes += prefix.raw_bytes
        self.hot_raw += prefix.hot_raw
        if rids is not None and k:  # our second version may have leant on the first's id
            self._rewrite([-1] * len(prefix.times) + rids[k:])
        if emptied:  # the newest version is now the prefix's: so is the encoder's state
            self._last_raw = prefix._last_raw
            self._kf_size, self._delta_bytes, self._run = (
                prefix._kf_size,
                prefix._delta_bytes,
                prefix._run,
            )

    def trim_before(self, t: int) -> int:
        """Drop the versions no read at or after t needs; returns how many were dropped.

        Keeps the keyframe run that decodes the version in force at t, so the arrays are cut,
        not re-encoded. An object deleted before t loses every version up to its delete.
        """
        i = self.index_at(t)
        if i < 0:
            return 0
        # a change exactly at t keeps its predecessor, which decides its kind (ADDED/MODIFIED)
        p = i - 1 if self.times[i] == t else i
        if p <= 0:
            return 0
        ops = self.ops
        if ops[p] == DELETE:
            k = p + 1  # what follows a delete reads the same without it; a put is a keyframe
        else:
            k = p
            while ops[k] not in (KEYFRAME, COLD):
                k -= 1
        if k == 0:
            return 0
        rids = self._cold_rids() if COLD in ops else None
        if rids is not None:
            self._release_rids(rids[:k])
        if all(op >= DELETE for op in ops[k:]):
            self.hot_raw = 0
        cut = self.ends[k - 1]
        del self.times[:k]
        del ops[:k]
        del self.data[:cut]
        self.ends = array("Q", (e - cut for e in self.ends[k:]))
        if rids is not None:  # the first cold version left may have leant on a dropped one
            self._rewrite(rids[k:])
        return k

    def last_raw(self) -> bytes | None:
        """The msgpack bytes of the newest put version (None before any put)."""
        return self._last_raw

    def _release_rids(self, rids: list[int]) -> None:
        # these cold versions are going: their records are no longer referred to
        for rid in rids:
            if rid >= 0:
                self._cold.release(rid)

    def _truncate(self, start: int) -> None:
        if COLD in self.ops[start:]:
            self._release_rids(self._cold_rids()[start:])
        keep_end = self.ends[start - 1] if start else 0
        del self.times[start:]
        del self.ops[start:]
        del self.ends[start:]
        del self.data[keep_end:]
        self._last_raw = None
        self._kf_size = self._delta_bytes = self._run = 0
        # deltas after `start` are re-encoded from a keyframe, so no base is needed here

    # --- compaction --------------------------------------------------------------------------

    def hot_versions(self) -> tuple[list[int], list[bytes]]:
        """Indices and msgpack bytes of the put versions not yet cold, oldest first (decoded in
        one pass: each delta from the version before it)."""
        ops = self.ops
        last = len(ops) - 1
        idx: list[int] = []
        raws: list[bytes] = []
        raw = b""
        for i, op in enumerate(ops):
            if op >= DELETE:
                continue
            if i == last and self._last_raw is not None:
                raw = self._last_raw
            elif op == KEYFRAME:
                raw = self._codec.decode_keyframe(self._blob(i))
            else:
                raw = codec.delta_decode(raw, self._blob(i))
            idx.append(i)
            raws.append(raw)
        return idx, raws

    def freeze(self, idx: list[int], first_rid: int) -> None:
        """Make versions `idx` (from `hot_versions`) cold: their records are `first_rid`
        onwards, in order. Nothing here refers to their old blobs any more."""
        rids = self._cold_rids()
        ops = self.ops
        for k, i in enumerate(idx):
            rids[i] = first_rid + k
            ops[i] = COLD
        self._rewrite(rids)
        self.hot_raw = 0
        self._kf_size = self._delta_bytes = self._run = 0


def decode_many(versions: list[tuple[Chain, int]]) -> list[dict[str, Any]]:
    """Put version i of each (chain, i), decoded; cold versions are read in record order, so
    that each block is decompressed once however the versions are spread."""
    out: list[Any] = [None] * len(versions)
    # decoded objects are trees without cycles: the collector would only rescan them over and
    # over as they pile up (measured: 4x slower with it on)
    paused = gc.isenabled()
    gc.disable()
    try:
        cold: list[tuple[int, int, ColdStore, int]] = []
        for n, (chain, i) in enumerate(versions):
            if chain.ops[i] == COLD and (i < len(chain) - 1 or chain.last_raw() is None):
                store = chain.cold
                cold.append((id(store), chain.cold_ref(i), store, n))
            else:
                out[n] = chain.obj_of(i)
        cold.sort(key=lambda c: (c[0], c[1]))
        for _, rid, store, n in cold:
            out[n] = codec.unpack(store.read(rid))
    finally:
        if paused:
            gc.enable()
    return out
