"""The live app's past: its session's map for the hot window, its own recording for the rest.

A live session keeps in memory only the versions a recent moment needs (it is trimmed to a hot
window, never past what its recorder has sealed); everything older is read back from the
recording it is writing, through a LazyHistory over the sealed segments. `HotColdHistory` is the
TemporalReader the views read: a moment before `hot_from` goes to the recording, one at or after
it to the map; ranges are split there. Key ids of the recording's part are above 2**32 (a
LazyHistory's are), the map's below, so `key_of` knows where an id comes from.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.segments.history import LazyHistory
from khronoscope.recording.segments.prefetch import Prefetcher
from khronoscope.temporal.map import ChangeRef, Namespaces, TemporalMap

_COLD_KIDS = 1 << 32


class HotColdHistory:
    """A TemporalReader over a live map trimmed to its hot window and the recording of what
    was trimmed (see the module docstring)."""

    def __init__(self, hot: TemporalMap, cold: LazyHistory) -> None:
        self.hot = hot
        self.cold = cold
        self._trims = 0
        # stepping or playing through the recorded part reads its next segment ahead, as
        # `open` does (the worker starts at the first move in the past; none while at now)
        self.prefetch = Prefetcher(cold)

    def close(self) -> None:
        """Stop reading ahead (the app is closing)."""
        self.prefetch.close()

    # --- where the hot window starts ----------------------------------------------------------

    @property
    def hot_from(self) -> int | None:
        """The first moment the map holds whole (None: it holds everything: never trimmed)."""
        return self.hot.first_t if self.hot.trims else None

    def _cold_at(self, t: int) -> bool:
        start = self.hot_from
        return start is not None and t < start

    @property
    def first_t(self) -> int | None:
        """The first moment: the recording's, once the map was trimmed."""
        if self.hot_from is not None and self.cold.first_t is not None:
            return self.cold.first_t
        return self.hot.first_t

    @property
    def last_t(self) -> int | None:
        """The newest change (the map's)."""
        return self.hot.last_t

    @property
    def change_count(self) -> int:
        """Changes in the map, and in the recording before it (grows with every change)."""
        start = self.hot_from
        before = 0
        if start is not None and self.cold.first_t is not None:
            before = self.cold.count_changes(self.cold.first_t, start - 1)
        return before + self.hot.change_count

    @property
    def horizon(self) -> int:
        """The furthest moment a cursor has been to (the map's: late writes land there)."""
        return self.hot.horizon

    @horizon.setter
    def horizon(self, t: int) -> None:
        self.hot.horizon = t

    @property
    def trims(self) -> int:
        """Bumped whenever either side drops or replaces what a cursor may have read."""
        self.cold._sync()
        return self.hot.trims + self.cold.trims + self._trims

    def refresh(self) -> None:
        """Pick up the segments the recorder sealed since (before the map is trimmed again)."""
        self.cold.rec.refresh()
        self.cold._sync()

    # --- one object ---------------------------------------------------------------------------

    def _side(self, t: int) -> Any:
        return self.cold if self._cold_at(t) else self.hot

    def get(self, key: ObjectKey, t: int) -> dict[str, Any] | None:
        """The object as it was at t."""
        return self._side(t).get(key, t)

    def raw_at(self, key: ObjectKey, t: int) -> bytes | None:
        """Its msgpack bytes at t."""
        return self._side(t).raw_at(key, t)

    def version_at(self, key: ObjectKey, t: int) -> int | None:
        """The time its version in force at t began."""
        return self._side(t).version_at(key, t)

    def row(self, key: ObjectKey, t: int) -> Hashable | None:
        """Its row at t."""
        return self._side(t).row(key, t)

    def rows_of(self, keys: Iterable[ObjectKey], t: int) -> dict[ObjectKey, Hashable]:
        """The rows at t of some keys."""
        return self._side(t).rows_of(keys, t)

    def history(self, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
        """Every change of one object: the recording's before the hot window, then the map's."""
        start = self.hot_from
        hot = self.hot.history(key)
        if start is None:
            return hot
        older = [v for v in self.cold.history(key) if v[0] < start]
        return older + [v for v in hot if v[0] >= start]

    def version_times(self, key: ObjectKey) -> list[int]:
        """The times at which it changed."""
        return [t for t, _ in self.history(key)]

    def keys_named(
        self, name: str, types: Iterable[str] | None = None, namespace: str | None = None
    ) -> list[ObjectKey]:
        """Objects called `name` ever seen, in either part."""
        types = list(types) if types is not None else None
        found = set(self.hot.keys_named(name, types, namespace))
        if self.hot_from is not None:
            found.update(self.cold.keys_named(name, types, namespace))
        return sorted(found)

    def __contains__(self, key: object) -> bool:
        return key in self.hot or (self.hot_from is not None and key in self.cold)

    # --- moments ------------------------------------------------------------------------------

    def types(self) -> list[str]:
        """Every type with objects."""
        names = set(self.hot.types())
        if self.hot_from is not None:
            names.update(self.cold.types())
        return sorted(names)

    def namespaces(self, type: str | None = None) -> list[str]:
        """Every namespace seen."""
        names = set(self.hot.namespaces(type))
        if self.hot_from is not None:
            names.update(self.cold.namespaces(type))
        return sorted(names)

    def keys_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> list[ObjectKey]:
        """Keys of the objects that exist at t."""
        return self._side(t).keys_at(t, type, namespace)

    def versions_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, int]:
        """Every object that exists at t and its version's time."""
        return self._side(t).versions_at(t, type, namespace)

    def state_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, dict[str, Any]]:
        """Every object that exists at t, decoded."""
        return self._side(t).state_at(t, type, namespace)

    def rows_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, Hashable]:
        """The row of every object that exists at t."""
        return self._side(t).rows_at(t, type, namespace)

    # --- changes ------------------------------------------------------------------------------

    def changes(
        self,
        start: int | None = None,
        end: int | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> Iterator[ChangeRef]:
        """Changes with start <= t <= end: the recording's, then the map's."""
        split = self.hot_from
        if split is not None and (start is None or start < split):
            cold_end = split - 1 if end is None else min(end, split - 1)
            yield from self.cold.changes(start, cold_end, type, namespace)
            start = split
        if end is None or start is None or start <= end:
            yield from self.hot.changes(start, end, type, namespace)

    def changed_keys(
        self, after: int, upto: int, type: str, namespace: Namespaces = None
    ) -> tuple[set[int], int]:
        """Key ids changed in (after, upto] (the recording's above 2**32)."""
        split = self.hot_from
        kids: set[int] = set()
        crossed = 0
        if split is not None and after < split - 1:
            k, n = self.cold.changed_keys(after, min(upto, split - 1), type, namespace)
            kids |= k
            crossed += n
            after = split - 1
        if upto > after:
            k, n = self.hot.changed_keys(after, upto, type, namespace)
            kids |= k
            crossed += n
        return kids, crossed

    def key_of(self, kid: int) -> ObjectKey:
        """The key of a key id from `changed_keys`."""
        return self.cold.key_of(kid) if kid >= _COLD_KIDS else self.hot.key_of(kid)

    def count_changes(
        self, start: int, end: int, type: str | None = None, namespace: Namespaces = None
    ) -> int:
        """How many changes with start <= t <= end (the recording's part may be estimated)."""
        split = self.hot_from
        total = 0
        if split is not None and start < split:
            total += self.cold.count_changes(start, min(end, split - 1), type, namespace)
            start = split
        if start <= end:
            total += self.hot.count_changes(start, end, type, namespace)
        return total

    def next_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the first change strictly after t."""
        split = self.hot_from
        if split is not None and t < split - 1:
            found = self.cold.next_change(t, key, type, namespace)
            if found is not None and found < split:
                return found
            t = split - 1
        return self.hot.next_change(t, key, type, namespace)

    def previous_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the last change strictly before t."""
        split = self.hot_from
        if split is None or t > split:
            found = self.hot.previous_change(t, key, type, namespace)
            if found is not None and (split is None or found >= split):
                return found
            if split is None:
                return found
            t = split
        return self.cold.previous_change(t, key, type, namespace)

    def late_writes_since(self, mark: int) -> tuple[list[tuple[int, int]], int]:
        """Late writes land in the map."""
        return self.hot.late_writes_since(mark)


class HotColdSource:
    """A live session shown with the whole of its past: `tmap` reads the session's map for the
    hot window and its recording for the rest; everything else is the session's."""

    def __init__(self, session: Any, history: HotColdHistory) -> None:
        self._session = session
        self.tmap = history

    def __getattr__(self, name: str) -> Any:
        # a view asks the session what it asks any source (status, logs, marks, bookmarks...)
        return getattr(self._session, name)

    @property
    def session(self) -> Any:
        """The live session behind it."""
        return self._session
