"""A least-recently-used map bounded by the bytes its values hold (as estimated by a weight
function): every cache of a lazy recording reader is one, so their sum is the memory budget."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Values by key; the least recently used go once the weights pass `budget` (the newest
    one always stays). Thread-safe: the app reads in worker threads."""

    def __init__(self, budget: int, weight: Callable[[V], int]) -> None:
        self.budget = budget
        self._weight = weight
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The value, marked as just used; None when absent."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def peek(self, key: K) -> V | None:
        """The value without marking it used."""
        found = self._items.get(key)
        return None if found is None else found[0]

    def put(self, key: K, value: V) -> None:
        """Keep a value (replacing any under the key), dropping the oldest beyond the budget."""
        w = self._weight(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._items[key] = (value, w)
            self.bytes += w
            while self.bytes > self.budget and len(self._items) > 1:
                _, (_, ow) = self._items.popitem(last=False)
                self.bytes -= ow

    def drop(self, keep: Callable[[K], bool]) -> None:
        """Forget the entries whose key `keep` refuses."""
        with self._lock:
            for k in [k for k in self._items if not keep(k)]:
                self.bytes -= self._items.pop(k)[1]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self.bytes = 0
