"""When versions go cold: chains are packed whole, a block at a time, as writes come in.

A chain is packed with all its versions not yet cold, so that a version lands next to its own
predecessors, where it costs least: as soon as it is deleted (its history is then final, short
of a late write), or once its oldest hot version is `horizon` writes old (long-lived objects, and
objects that never change again, like Events). Work is done inside writes, one block at a time,
so that the cost shows in ingest figures and no write waits for more than one block.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from khronoscope.temporal.chain import DELETE, Chain
from khronoscope.temporal.cold import ColdStore

HORIZON = 65_536

_NONE, _AGING, _READY = 0, 1, 2


class Compactor:
    """Queues chains whose hot versions may go cold, and packs them into their type's blocks."""

    def __init__(self, horizon: int = HORIZON) -> None:
        self.horizon = horizon
        self.serial = 0  # writes seen: the clock of the horizon
        self._aging: deque[tuple[int, Chain]] = deque()
        self._ready: dict[str, deque[tuple[Chain, int]]] = {}
        self._ready_raw: dict[str, int] = {}
        self.full: set[str] = set()  # types with a block's worth of ready versions

    def wrote(self, chain: Chain) -> None:
        """A write landed in `chain` (in order or late)."""
        self.serial += 1
        self.touched(chain)
        aging = self._aging
        limit = self.serial - self.horizon
        while aging and aging[0][0] <= limit:
            since, old = aging.popleft()
            if old.cq == _AGING and old.hot_since == since:
                self._make_ready(old)

    def touched(self, chain: Chain) -> None:
        """`chain` may have new hot versions (a write or a backfill): queue it."""
        if chain.cq == _READY or chain.hot_raw <= 0:
            return
        if chain.ops[-1] == DELETE:
            self._make_ready(chain)
        elif chain.cq == _NONE:
            chain.cq = _AGING
            chain.hot_since = self.serial
            self._aging.append((self.serial, chain))

    def backfilled(self, chain: Chain) -> None:
        """Older history was spliced into `chain`: it is past the horizon by definition."""
        if chain.cq != _READY and chain.hot_raw > 0:
            self._make_ready(chain)

    def _make_ready(self, chain: Chain) -> None:
        chain.cq = _READY
        type_ = chain.key.type
        queue = self._ready.get(type_)
        if queue is None:
            queue = self._ready[type_] = deque()
            self._ready_raw[type_] = 0
        queue.append((chain, chain.hot_raw))
        self._ready_raw[type_] += chain.hot_raw
        if self._ready_raw[type_] >= chain.cold.block_raw:
            self.full.add(type_)

    def forget(self, gone: set[int]) -> None:
        """Chains with these key ids were trimmed away: drop them from the queues (an object
        that came and went must not be kept alive by its place in a queue)."""
        if not gone:
            return
        self._aging = deque(e for e in self._aging if e[1].kid not in gone)
        for type_, queue in self._ready.items():
            kept = deque(e for e in queue if e[0].kid not in gone)
            if len(kept) != len(queue):
                self._ready[type_] = kept
                self._ready_raw[type_] = sum(estimate for _, estimate in kept)

    def step(self, stores: dict[str, ColdStore]) -> bool:
        """Pack one block's worth of ready chains of one type (when a type has that much);
        True while there is a block's worth left."""
        if self.full:
            type_ = next(iter(self.full))
            self._pack(type_, stores[type_])
        return bool(self.full)

    def drain(self, stores: dict[str, ColdStore]) -> Iterator[None]:
        """Make every hot version cold, whatever its age, a block per step (a replay that has
        loaded everything; tests)."""
        while self._aging:
            _, chain = self._aging.popleft()
            if chain.cq == _AGING:
                self._make_ready(chain)
        while self.step(stores):
            yield
        for type_ in list(self._ready):
            while self._ready[type_]:
                self._pack(type_, stores[type_])
                yield

    def _pack(self, type_: str, store: ColdStore) -> None:
        queue = self._ready[type_]
        batch: list[tuple[Chain, list[int]]] = []
        records: list[bytes] = []
        size = 0
        while queue and size < store.block_raw:
            chain, estimate = queue.popleft()
            self._ready_raw[type_] -= estimate
            chain.cq = _NONE
            chain.hot_since = -1
            idx, raws = chain.hot_versions()
            if idx:
                batch.append((chain, idx))
                records += raws
                size += sum(len(r) for r in raws)
        if self._ready_raw[type_] < store.block_raw:
            self.full.discard(type_)
        if not records:
            return
        rid = store.add(records)
        for chain, idx in batch:
            chain.freeze(idx, rid)
            rid += len(idx)
