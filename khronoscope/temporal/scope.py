"""The index of one (type, namespace): its change log and checkpoints of which objects exist.

Checkpoints make a moment query cost what exists then plus what changed since the checkpoint,
not every object that ever existed (a churning Deployment leaves thousands of dead pod names).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping

from sortedcontainers import SortedList

from khronoscope.temporal.chain import DELETE, Chain

KID_BITS = 32
KID_MASK = (1 << KID_BITS) - 1
CHECKPOINT_EVERY = 256


class Scope:
    """Change log (`(t << 32) | key_id` ints, time-ordered), chains, live set and checkpoints."""

    __slots__ = ("_cp_kids", "_cp_times", "_every", "_since_cp", "chains", "entries", "live")

    def __init__(self, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self._every = checkpoint_every
        self.entries = SortedList()
        self.chains: list[Chain] = []
        self.live: set[int] = set()
        self._cp_times: list[int] = []
        self._cp_kids: list[array] = []
        self._since_cp = 0

    def add(self, chain: Chain, t: int) -> bool:
        """Index a write of `chain` at t; False if (t, key) was already indexed (a replace)."""
        entries = self.entries
        entry = (t << KID_BITS) | chain.kid
        i = entries.bisect_left(entry)
        is_new = not (i < len(entries) and entries[i] == entry)
        newest = entries[-1] >> KID_BITS if entries else None
        if is_new:
            entries.add(entry)
        if chain.ops[-1] != DELETE:
            self.live.add(chain.kid)
        else:
            self.live.discard(chain.kid)
        # after a trim the first checkpoint may be later than every entry
        if (newest is not None and t <= newest) or (self._cp_times and t <= self._cp_times[-1]):
            self._fix_checkpoints(chain, t)
        self._since_cp += 1
        if self._since_cp >= max(len(self.live), self._every):
            self._since_cp = 0
            self._cp_times.append(entries[-1] >> KID_BITS)
            self._cp_kids.append(array("I", sorted(self.live)))
        return is_new

    def _fix_checkpoints(self, chain: Chain, t: int) -> None:
        # a late write can change whether the object existed at checkpoints after it
        for i in range(bisect_left(self._cp_times, t), len(self._cp_times)):
            kids = self._cp_kids[i]
            j = bisect_left(kids, chain.kid)
            present = j < len(kids) and kids[j] == chain.kid
            exists = chain.exists_at(self._cp_times[i])
            if exists and not present:
                insort(kids, chain.kid)
            elif present and not exists:
                del kids[j]

    def fix_span(self, chain: Chain, lo: int, hi: int | None) -> None:
        """Recompute `chain`'s presence at the checkpoints with lo <= time < hi (after older
        history was spliced before its first version; `hi` None: to the end)."""
        times = self._cp_times
        end = len(times) if hi is None else bisect_left(times, hi)
        for i in range(bisect_left(times, lo), end):
            kids = self._cp_kids[i]
            j = bisect_left(kids, chain.kid)
            present = j < len(kids) and kids[j] == chain.kid
            exists = chain.exists_at(times[i])
            if exists and not present:
                insort(kids, chain.kid)
            elif present and not exists:
                del kids[j]

    def checkpoint_range(self, lo: int, hi: int, by_kid: Mapping[int, Chain]) -> None:
        """Add checkpoints in [lo, hi] as `add` would have made them, after a backfill there
        (so that moments in backfilled history do not scan from the start of the log)."""
        every = self._every
        live = {kid for kid in self.candidates(lo - 1) if by_kid[kid].exists_at(lo - 1)}
        new_times: list[int] = []
        new_kids: list[array] = []
        since = 0
        pending: set[int] = set()
        prev_t: int | None = None
        for entry in self.entries.irange(lo << KID_BITS, (hi << KID_BITS) | KID_MASK):
            t = entry >> KID_BITS
            if prev_t is not None and t != prev_t:
                # every entry at prev_t is applied: a checkpoint may go there
                for kid in pending:
                    (live.add if by_kid[kid].exists_at(prev_t) else live.discard)(kid)
                pending.clear()
                if since >= max(len(live), every):
                    since = 0
                    new_times.append(prev_t)
                    new_kids.append(array("I", sorted(live)))
            pending.add(entry & KID_MASK)
            since += 1
            prev_t = t
        if not new_times:
            return
        # keep the existing checkpoints (fixed by fix_span); add those not already there
        have = set(self._cp_times)
        merged = sorted(
            [(t, k) for t, k in zip(self._cp_times, self._cp_kids, strict=True)]
            + [(t, k) for t, k in zip(new_times, new_kids, strict=True) if t not in have],
            key=lambda tk: tk[0],
        )
        self._cp_times = [t for t, _ in merged]
        self._cp_kids = [k for _, k in merged]

    def trim_before(self, t: int, alive_at_t: set[int], dead: set[int]) -> int:
        """Forget index entries before t (a checkpoint at t keeps moments from t on exact);
        `dead` chains are gone entirely. Returns how many entries were dropped."""
        entries = self.entries
        k = entries.bisect_left(t << KID_BITS)
        del entries[:k]
        if dead:
            for entry in [e for e in entries if e & KID_MASK in dead]:
                entries.remove(entry)
                k += 1
            self.chains = [c for c in self.chains if c.kid not in dead]
            self.live -= dead
        j = bisect_left(self._cp_times, t)
        self._cp_times = [t, *self._cp_times[j:]]
        self._cp_kids = [array("I", sorted(alive_at_t)), *self._cp_kids[j:]]
        if len(self._cp_times) > 1 and self._cp_times[1] == t:
            del self._cp_times[1], self._cp_kids[1]
        return k

    def candidates(self, t: int) -> Iterator[int]:
        """Key ids that may exist at t: the checkpoint's, plus those changed since."""
        i = bisect_right(self._cp_times, t) - 1
        if i < 0:
            seen: set[int] = set()
            lo = None
        else:
            seen = set(self._cp_kids[i])
            lo = (self._cp_times[i] << KID_BITS) | KID_MASK
        hi = (t << KID_BITS) | KID_MASK
        for entry in self.entries.irange(lo, hi, inclusive=(False, True)):
            seen.add(entry & KID_MASK)
        return iter(seen)
