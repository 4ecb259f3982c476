"""History older than a segmented recording's, joined to it: the LazyHistory's overlay.

The overlay is an in-memory TemporalMap of versions from before each object's first recorded
version: history imported from audit logs (the recording's companion) and versions rebuilt
from what the cluster remembered. It speaks for an object only before that object's first
recorded version (the recording wins); at the join, a recorded first version equal to the
overlay's last one is the same version seen twice (the importer stores it with the recording's
bytes), so it is not a change: the object's history runs on without a step, as a format-1
recording's backfilled map does (temporal/map.py, Backfill.commit).

Cost: the overlay's own map, plus, per overlay object the views ask about at or after the
recording's first change, one lookup of its first recorded version (cached, one entry per
object). Before the recording's first change nothing of the recording is read.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.segments import segfmt as sf
from khronoscope.temporal.map import ChangeRef, Namespaces, TemporalMap


@dataclass(slots=True)
class Seam:
    """Where the recording takes over an object: its first recorded version (None: never
    recorded) and whether that version is the overlay's last one again (None: not read yet)."""

    first: int | None
    where: tuple[int, int, int] = (0, 0, -1)  # kind, seq, record id of that version
    continues: bool | None = None


class RecordedVersions(Protocol):
    """What the overlay needs of the recording: an object's first version and its bytes."""

    def recorded_first(self, key: ObjectKey) -> tuple[int, int, int, int] | None:
        """(time, kind, seq, record id) of the object's first recorded version."""
        ...

    def recorded_raw(self, key: ObjectKey, seq: int, rid: int) -> bytes | None:
        """The bytes of one recorded version."""
        ...


class Overlay:
    """An overlay map joined to a recording (see the module docstring)."""

    def __init__(self, tmap: TemporalMap, recording: RecordedVersions) -> None:
        self.tmap = tmap
        self._rec = recording
        self._seams: dict[ObjectKey, Seam] = {}
        # times before this hold no recorded version (None: not known, after retention)
        self.floor: int | None = None
        self._keys: list[ObjectKey] | None = None
        self._kid: dict[ObjectKey, int] = {}

    def forget(self, floor: int | None) -> None:
        """The recording changed (followed): seams are found again."""
        self._seams.clear()
        self.floor = floor

    def seam(self, key: ObjectKey) -> Seam:
        """Where the recording takes over `key` (found once per object)."""
        found = self._seams.get(key)
        if found is None:
            first = self._rec.recorded_first(key)
            found = Seam(None) if first is None else Seam(first[0], first[1:])
            self._seams[key] = found
        return found

    def continues(self, key: ObjectKey) -> Seam:
        """The seam of `key`, knowing whether the recording's first version is the overlay's
        last one again (its bytes read once)."""
        seam = self.seam(key)
        if seam.continues is None:
            kind, seq, rid = seam.where
            same = False
            if seam.first is not None and kind != sf.DELETED:
                before = self.tmap.raw_at(key, seam.first - 1)
                same = before is not None and before == self._rec.recorded_raw(key, seq, rid)
            seam.continues = same
        return seam

    def speaks(self, key: ObjectKey, t: int) -> bool:
        """True when the overlay says what `key` is at t (before its first recorded version)."""
        if key not in self.tmap:
            return False
        if self.floor is not None and t < self.floor:
            return True
        first = self.seam(key).first
        return first is None or t < first

    def version_began(self, key: ObjectKey, recorded_t: int) -> int:
        """When the version recorded at `recorded_t` began: earlier when it is the overlay's
        last version again."""
        if key in self.tmap and self.seam(key).first == recorded_t:
            seam = self.continues(key)
            if seam.continues:
                older = self.tmap.version_at(key, recorded_t - 1)
                if older is not None:
                    return older
        return recorded_t

    def history(
        self, key: ObjectKey, recorded: list[tuple[int, ChangeKind]]
    ) -> list[tuple[int, ChangeKind]]:
        """An object's changes: the overlay's before its recorded ones."""
        if key not in self.tmap:
            return recorded
        seam = self.continues(key)
        older = [v for v in self.tmap.history(key) if seam.first is None or v[0] < seam.first]
        if recorded and seam.continues:
            recorded = recorded[1:]
        elif (
            recorded
            and older
            and older[-1][1] is not ChangeKind.DELETED
            and recorded[0][1] is ChangeKind.ADDED
        ):
            recorded = [(recorded[0][0], ChangeKind.MODIFIED), *recorded[1:]]
        return older + recorded

    # --- changes over a range -----------------------------------------------------------------

    def _visible(
        self, start: int | None, end: int | None, type: str | None, namespace: Namespaces
    ) -> Iterator[ChangeRef]:
        for ref in self.tmap.changes(start, end, type, namespace):
            if self.speaks(ref.key, ref.t):
                yield ref

    def _joined(self, recorded: Iterator[ChangeRef]) -> Iterator[ChangeRef]:
        """Recorded changes as the joined timeline has them: an object's first recorded
        version is MODIFIED after the overlay's, and not a change when it is the same."""
        tmap = self.tmap
        for ref in recorded:
            first = (
                ref.kind is ChangeKind.ADDED
                and ref.key in tmap
                and self.seam(ref.key).first == ref.t
            )
            if first:
                if self.continues(ref.key).continues:
                    continue
                if tmap.raw_at(ref.key, ref.t - 1) is not None:
                    ref = ChangeRef(ref.t, ref.key, ChangeKind.MODIFIED)
            yield ref

    def changes(
        self,
        recorded: Iterator[ChangeRef],
        start: int | None,
        end: int | None,
        type: str | None,
        namespace: Namespaces,
    ) -> Iterator[ChangeRef]:
        """The overlay's changes merged with the recording's, in time order."""
        return heapq.merge(
            self._visible(start, end, type, namespace),
            self._joined(recorded),
            key=lambda r: r.t,
        )

    def count(self, start: int, end: int, type: str | None, namespace: Namespaces) -> int:
        """The overlay's changes in [start, end] that show."""
        floor = self.floor
        if floor is not None and end < floor:
            return self.tmap.count_changes(start, end, type, namespace)
        n = 0
        if floor is not None and start < floor:
            n = self.tmap.count_changes(start, floor - 1, type, namespace)
            start = floor
        return n + sum(1 for _ in self._visible(start, end, type, namespace))

    def previous_change(self, t: int, type: str | None, namespace: Namespaces) -> int | None:
        """The last overlay change before t that shows."""
        tmap = self.tmap
        cand = tmap.previous_change(t, type=type, namespace=namespace)
        while cand is not None and not any(self._visible(cand, cand, type, namespace)):
            cand = tmap.previous_change(cand, type=type, namespace=namespace)
        return cand

    # --- key ids (for the cursor's "what changed") --------------------------------------------

    def keys(self) -> list[ObjectKey]:
        """Every overlay object, in key-id order."""
        if self._keys is None:
            self._keys = sorted(c.key for c in self.tmap.chains())
            self._kid = {k: j for j, k in enumerate(self._keys)}
        return self._keys

    def changed(
        self,
        after: int,
        upto: int,
        type: str,
        namespace: Namespaces,
        kid: Callable[[int], int],
    ) -> tuple[set[int], int]:
        """Key ids (`kid` of an index in `keys()`) of overlay objects changed in (after, upto]
        where the overlay shows, and how many changes that is."""
        self.keys()
        kids: set[int] = set()
        crossed = 0
        for ref in self._visible(after + 1, upto, type, namespace):
            kids.add(kid(self._kid[ref.key]))
            crossed += 1
        return kids, crossed
