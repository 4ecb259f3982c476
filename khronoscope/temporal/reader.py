"""TemporalReader: what views, cursors, export and the commands read from a past.

Two things provide it: the in-memory TemporalMap (a live session, a v0.1 recording loaded
whole) and the LazyHistory of a segmented recording (recording/segments/history.py), which reads
only the segments a query touches. Views depend on this protocol, never on either class.

Key ids (`changed_keys`, `late_writes_since`) are only meaningful to `key_of` of the same
reader, right away: a lazy reader may renumber once its windows move. `count_changes` is exact
where history is in memory, and may be an estimate at the index's resolution elsewhere (it
drives the timeline's density strip and progress totals, never a result a user reads as a
number).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from khronoscope.core.types import ChangeKind, ObjectKey
    from khronoscope.temporal.map import ChangeRef, Namespaces


class TemporalReader(Protocol):
    """The read side of a TemporalMap: any moment, any object's history, the changes."""

    first_t: int | None
    last_t: int | None
    change_count: int
    # the furthest time a cursor has been to, and a counter of resets: cursors rebuild when it
    # moves (a trim, or a lazy reader whose segments were replaced)
    horizon: int
    trims: int

    # --- one object ---------------------------------------------------------------------------

    def get(self, key: ObjectKey, t: int) -> dict[str, Any] | None:
        """The object as it was at t, or None if it did not exist then."""
        ...

    def raw_at(self, key: ObjectKey, t: int) -> bytes | None:
        """Its msgpack bytes at t (two versions compare without decoding)."""
        ...

    def version_at(self, key: ObjectKey, t: int) -> int | None:
        """The time its version in force at t began (None: absent at t)."""
        ...

    def row(self, key: ObjectKey, t: int) -> Hashable | None:
        """Its table row at t (None: absent at t)."""
        ...

    def history(self, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
        """Every change of one object: (time, kind), oldest first."""
        ...

    def version_times(self, key: ObjectKey) -> list[int]:
        """The times at which it changed, oldest first."""
        ...

    def keys_named(
        self, name: str, types: Iterable[str] | None = None, namespace: str | None = None
    ) -> list[ObjectKey]:
        """Objects called `name` ever seen (of some types, in one namespace)."""
        ...

    def __contains__(self, key: object) -> bool: ...

    # --- moments ------------------------------------------------------------------------------

    def types(self) -> list[str]:
        """Every type with objects."""
        ...

    def namespaces(self, type: str | None = None) -> list[str]:
        """Every namespace seen (of one type, or of all)."""
        ...

    def keys_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> list[ObjectKey]:
        """Keys of the objects that exist at t."""
        ...

    def versions_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, int]:
        """Every object that exists at t and the time its version in force began."""
        ...

    def state_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, dict[str, Any]]:
        """Every object that exists at t, decoded."""
        ...

    def rows_at(
        self, t: int, type: str | None = None, namespace: Namespaces = None
    ) -> dict[ObjectKey, Hashable]:
        """The row of every object that exists at t."""
        ...

    def rows_of(self, keys: Iterable[ObjectKey], t: int) -> dict[ObjectKey, Hashable]:
        """The rows at t of some keys (absent ones left out)."""
        ...

    # --- changes ------------------------------------------------------------------------------

    def changes(
        self,
        start: int | None = None,
        end: int | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> Iterator[ChangeRef]:
        """Changes with start <= t <= end, in time order."""
        ...

    def changed_keys(
        self, after: int, upto: int, type: str, namespace: Namespaces = None
    ) -> tuple[set[int], int]:
        """Key ids changed in (after, upto] and how many changes that is."""
        ...

    def key_of(self, kid: int) -> ObjectKey:
        """The key of a key id."""
        ...

    def count_changes(
        self, start: int, end: int, type: str | None = None, namespace: Namespaces = None
    ) -> int:
        """How many changes with start <= t <= end (see the module docstring)."""
        ...

    def next_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the first change strictly after t (of one key, or of a scope)."""
        ...

    def previous_change(
        self,
        t: int,
        key: ObjectKey | None = None,
        type: str | None = None,
        namespace: Namespaces = None,
    ) -> int | None:
        """Time of the last change strictly before t (of one key, or of a scope)."""
        ...

    def late_writes_since(self, mark: int) -> tuple[list[tuple[int, int]], int]:
        """Writes at or before a time a cursor had reached, logged after position `mark`."""
        ...
