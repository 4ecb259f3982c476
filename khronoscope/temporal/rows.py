"""Table rows of versions, computed when a view asks for them; the most recent are kept.

A row (what a table shows of one version, `row_fn(type, object)`) used to be computed for every
version at write time and kept forever: a third of the store's memory (755 MB of 2.27 GB at 2M
changes), for rows nobody looked at. Now a row costs a decode (~20-80 us) and a print (~40 us)
when a view first shows its version, and the rows of the last `size` versions shown are kept.
A version never changes under its (key id, time) — a late write at the same time replaces it,
and `forget` drops its row — so a kept row is never stale.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from khronoscope.temporal.chain import Chain, RowFn, decode_many

ROW_CACHE = 16_384
"""Rows kept at least: more than a 10,000-pod table, ~12 MB of pod rows."""
ROW_CACHE_MAX = 131_072
"""Rows kept at most: a view that reads every row (a sort by a column) of a bigger table than
ROW_CACHE grows the cache to hold it, up to this (~100 MB of pod rows)."""

_MISSING = object()


class RowCache:
    """Rows of versions by (key id, version time), computed by `row_fn` on a miss; at most
    `size` kept, least recently used dropped first; `size` grows to the largest batch read
    (up to `limit`), so a big table sorted by a column is not printed again at every jump.
    Without a `row_fn` every row is True."""

    __slots__ = ("_fn", "_rows", "computed", "limit", "size")

    def __init__(
        self, row_fn: RowFn | None, size: int = ROW_CACHE, limit: int = ROW_CACHE_MAX
    ) -> None:
        self._fn = row_fn
        self.limit = max(limit, size)
        # an OrderedDict: dropping the oldest of a plain dict rescans the holes left at its head
        self._rows: OrderedDict[tuple[int, int], Hashable] = OrderedDict()
        self.size = size
        self.computed = 0  # rows made since the start: what the views cost in row_fn calls

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, chain: Chain, i: int) -> Hashable:
        """The row of put version i of `chain`."""
        fn = self._fn
        if fn is None:
            return True
        k = (chain.kid, chain.times[i])
        rows = self._rows
        row = rows.get(k, _MISSING)
        if row is not _MISSING:
            rows.move_to_end(k)
            return row
        row = fn(chain.key.type, chain.obj_of(i))
        self.computed += 1
        self._keep(k, row)
        return row

    def get_many(self, versions: list[tuple[Chain, int]]) -> list[Hashable]:
        """The rows of many put versions (the misses decoded in one pass over the blocks)."""
        fn = self._fn
        if fn is None:
            return [True] * len(versions)
        if len(versions) > self.size:
            self.size = min(len(versions) + len(versions) // 4, self.limit)
        rows = self._rows
        out: list[Hashable] = []
        missing: list[int] = []
        for n, (chain, i) in enumerate(versions):
            k = (chain.kid, chain.times[i])
            row = rows.get(k, _MISSING)
            if row is _MISSING:
                missing.append(n)
            else:
                rows.move_to_end(k)
            out.append(row)
        if missing:
            objs = decode_many([versions[n] for n in missing])
            for n, obj in zip(missing, objs, strict=True):
                out[n] = fn(versions[n][0].key.type, obj)
            self.computed += len(missing)
            # only the last `size` are kept: a table longer than that keeps its tail
            for n in missing[-self.size :]:
                chain, i = versions[n]
                self._keep((chain.kid, chain.times[i]), out[n])
        return out

    def _keep(self, k: tuple[int, int], row: Hashable) -> None:
        rows = self._rows
        rows[k] = row
        if len(rows) > self.size:
            rows.popitem(last=False)

    def forget(self, kid: int, t: int) -> None:
        """The version of key id `kid` at t was replaced (a late write): drop its row."""
        self._rows.pop((kid, t), None)

    def clear(self) -> None:
        """Drop every kept row."""
        self._rows.clear()
