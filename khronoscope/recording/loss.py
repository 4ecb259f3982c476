"""What a damaged recording loses, reported exactly: which bytes, which times, and per resource
type how many versions of how many objects cannot be read.

Independent of the file layout (the v1 block reader and a segmented reader produce the same
report): a reader feeds a `LossTally` with what it finds and asks it for a `LossReport`.

- `lost_run`: changes lost together in damaged bytes, with what the file still says about them
  (how many; per type and per object when a ledger after them says).
- `lost`: a version read but impossible to show: a delta whose base was lost, a delete of an
  object whose creation was lost, or a version equal to the stale one the reader holds.
- `recovered`: a lost version read back from a keyframe: shown at its true time and content,
  but what the change was (ADDED, MODIFIED) is not known, so it is marked, never counted lost.
- `corrected`: the state set straight at a keyframe's time (an object whose delete was lost is
  gone from then on): not a recorded change, and marked as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey


@dataclass(frozen=True, slots=True)
class Problem:
    """A damaged (or out of place) part of the file: which bytes, and what it held."""

    start: int
    end: int
    what: str
    first_t: int | None = None
    last_t: int | None = None
    records: int | None = None
    changes: int | None = None  # change records (versions) in the range, when known
    lossless: bool = False  # nothing was lost (a duplicated block skipped, blocks put in order)

    def describe(self) -> str:
        """One line for the user."""
        lost = ""
        span = ""
        if self.first_t is not None and self.last_t is not None:
            span = f" from {format_iso(self.first_t)} to {format_iso(self.last_t)}"
        if self.lossless:
            lost = "; nothing lost"
        elif self.records is not None:
            # what the bytes held; how much of it is lost for good (a keyframe after them may
            # give versions back) is the report's per-type figures
            lost = f"; its {self.records} records"
            if self.changes:
                lost += f" ({self.changes} changes)"
            lost += f"{span} cannot be read"
        elif self.changes == 0:
            lost = "; no change lost"
        elif self.changes is not None:
            lost = f"; lost {self.changes} changes"
            if self.first_t is not None and self.last_t is not None:
                lost += f" between {format_iso(self.first_t)} and {format_iso(self.last_t)}"
        return f"bytes {self.start}-{self.end}: {self.what}{lost}"


@dataclass(slots=True)
class LostRun:
    """Changes lost together in damaged bytes, and what the file still says about them."""

    first_t: int | None
    last_t: int | None
    total: int | None  # None: the file does not say how many
    by_type: dict[str, int] | None = None  # None: it does not say of which types
    by_key: dict[ObjectKey, int] | None = None  # the objects of (part of) the run, when named

    def copy(self) -> LostRun:
        """A copy whose counts can be taken from."""
        return LostRun(
            self.first_t,
            self.last_t,
            self.total,
            None if self.by_type is None else dict(self.by_type),
            None if self.by_key is None else dict(self.by_key),
        )


@dataclass(frozen=True, slots=True)
class TypeLoss:
    """Versions of one type that cannot be read, of how many objects, and when."""

    type: str
    versions: int
    objects: int
    objects_exact: bool  # False: at least `objects` (the file names only some of them)
    first_t: int | None
    last_t: int | None


@dataclass(frozen=True)
class LossReport:
    """Everything a reader could not read back, for the user and for scripts."""

    problems: tuple[Problem, ...] = ()
    types: tuple[TypeLoss, ...] = ()
    unknown_versions: int = 0  # lost versions of types the file no longer says
    unknown_count: bool = False  # some damaged bytes held a number of changes nobody can know
    lost_objects: frozenset[ObjectKey] = frozenset()
    # versions read back from a keyframe after loss (true time and content, unknown change kind)
    restored: dict[ObjectKey, frozenset[int]] = field(default_factory=dict)
    # state set straight at a keyframe's time: not recorded changes
    corrected: dict[ObjectKey, frozenset[int]] = field(default_factory=dict)

    @property
    def versions(self) -> int:
        """Versions that cannot be read, all types (those of unknown type included)."""
        return sum(t.versions for t in self.types) + self.unknown_versions

    @property
    def damaged(self) -> bool:
        """True when anything at all was found wrong with the file."""
        return bool(self.problems or self.versions or self.unknown_count or self.corrected)

    def by_type(self) -> dict[str, TypeLoss]:
        """The per-type figures by type name."""
        return {t.type: t for t in self.types}

    def marked(self, key: ObjectKey, t: int) -> bool:
        """True when the version of `key` at t is not a change the file recorded as such."""
        return t in self.restored.get(key, ()) or t in self.corrected.get(key, ())

    def lines(self, safe: bool = False) -> list[str]:
        """One block of lines: each damaged range, then what cannot be read per type (`safe`:
        control characters a crafted file put in type names shown escaped)."""
        if safe:
            return [safe_line(line) for line in self.lines()]
        out = [p.describe() for p in self.problems]
        for tl in self.types:
            objects = f"{tl.objects}" if tl.objects_exact else f"at least {tl.objects}"
            plural = "object" if tl.objects == 1 and tl.objects_exact else "objects"
            span = ""
            if tl.first_t is not None and tl.last_t is not None:
                span = f" ({format_iso(tl.first_t)} .. {format_iso(tl.last_t)})"
            out.append(
                f"cannot be read: {tl.type}: {tl.versions} "
                f"{'version' if tl.versions == 1 else 'versions'} of {objects} {plural}{span}"
            )
        if self.unknown_versions:
            out.append(
                f"cannot be read: {self.unknown_versions} more versions whose types the file "
                "no longer says"
            )
        if self.unknown_count:
            out.append("cannot be read: an unknown number of changes in unreadable bytes")
        if self.restored:
            out.append(
                f"{len(self.restored)} objects read back from a keyframe after the damage: "
                "each such version is shown at its true time, marked RESTORED (what changed "
                "before it is not known)"
            )
        if self.corrected:
            out.append(
                f"{len(self.corrected)} objects set straight at a keyframe: gone or changed by "
                "then, when exactly is lost (marked RESTORED at the keyframe's time)"
            )
        return out

    def warning(self, path: object) -> str:
        """The block of lines commands print on stderr: `khronoscope: warning: FILE is
        damaged: ...` and one indented line per range and type."""
        head = f"khronoscope: warning: {safe_line(str(path))} is damaged: {self.summary()}"
        return "\n".join([head, *(f"  {line}" for line in self.lines(safe=True))])

    def summary(self) -> str:
        """`37 versions of 12 objects cannot be read` (or what else is wrong), one line."""
        if self.versions or self.unknown_count:
            n = f"{self.versions}" + ("+" if self.unknown_count else "")
            objects = len(self.lost_objects)
            exact = all(t.objects_exact for t in self.types) and not self.unknown_versions
            of = f" of {'' if exact else 'at least '}{objects} objects" if objects else ""
            return f"{n} versions{of} cannot be read"
        if self.problems:
            return "damaged, nothing lost"
        return "intact"


@runtime_checkable
class ReportsLoss(Protocol):
    """A history read from a file that can say exactly what of it could not be read."""

    def loss_report(self) -> LossReport:
        """What cannot be read (complete once the history has loaded)."""
        ...


class LossTally:
    """Collects what a reader finds while it reads; `report` resolves it into a LossReport."""

    def __init__(self) -> None:
        self.runs: list[LostRun] = []
        self.skipped: dict[ObjectKey, list[int]] = {}
        self.recovered: list[tuple[ObjectKey, int]] = []
        self.corrections: dict[ObjectKey, list[int]] = {}

    def lost_run(self, run: LostRun) -> None:
        """Changes lost together in damaged bytes."""
        self.runs.append(run)

    def lost(self, key: ObjectKey, t: int) -> None:
        """A version of `key` at t was read but cannot be shown."""
        self.skipped.setdefault(key, []).append(t)

    def recover(self, key: ObjectKey, t: int) -> None:
        """A lost version of `key` (the one that began at t) was read back from a keyframe."""
        self.recovered.append((key, t))

    def correct(self, key: ObjectKey, t: int) -> None:
        """The state of `key` was set straight at t (a keyframe): not a recorded change."""
        self.corrections.setdefault(key, []).append(t)

    def absorb(self, other: LossTally) -> None:
        """Add what another tally collected (e.g. the part read while following)."""
        self.runs.extend(other.runs)
        for key, ts in other.skipped.items():
            self.skipped.setdefault(key, []).extend(ts)
        self.recovered.extend(other.recovered)
        for key, ts in other.corrections.items():
            self.corrections.setdefault(key, []).extend(ts)

    @property
    def empty(self) -> bool:
        """True when nothing was lost or set straight."""
        return not (self.runs or self.skipped or self.recovered or self.corrections)

    def report(self, problems: Iterable[Problem] = ()) -> LossReport:
        """Resolve what was collected: recovered versions are taken off what was lost."""
        runs = [r.copy() for r in self.runs]
        skipped = {k: list(ts) for k, ts in self.skipped.items()}
        restored: dict[ObjectKey, set[int]] = {}
        for key, t in self.recovered:
            restored.setdefault(key, set()).add(t)
            ts = skipped.get(key)
            if ts and t in ts:
                ts.remove(t)
                continue
            run = _run_of(runs, key, t)
            if run is None:
                continue
            if run.by_key is not None and run.by_key.get(key, 0) > 0:
                run.by_key[key] -= 1
            if run.by_type is not None and run.by_type.get(key.type, 0) > 0:
                run.by_type[key.type] -= 1
            if run.total:
                run.total -= 1
        return _resolve(list(problems), runs, skipped, restored, self.corrections)


def _capacity(run: LostRun, key: ObjectKey) -> int:
    """How many versions of `key` the run may still account for (0: none)."""
    if run.by_key is not None and run.by_key.get(key, 0) > 0:
        return 2  # named: the best match
    if run.by_type is not None:
        named = sum(n for k, n in (run.by_key or {}).items() if k.type == key.type)
        return 1 if run.by_type.get(key.type, 0) > named else 0
    return 1 if run.total else 0


def _run_of(runs: list[LostRun], key: ObjectKey, t: int) -> LostRun | None:
    """The run a recovered version was lost in: one covering t that can hold it (the latest),
    else the latest before t."""

    def covers(r: LostRun) -> bool:
        return r.first_t is not None and r.last_t is not None and r.first_t <= t <= r.last_t

    for pool in (
        [r for r in runs if covers(r)],
        [r for r in runs if r.first_t is None or r.first_t <= t],
        runs,
    ):
        best = max(pool, key=lambda r: _capacity(r, key), default=None)
        if best is not None and _capacity(best, key):
            # among equally good runs, the latest (runs are in file order)
            top = _capacity(best, key)
            return [r for r in pool if _capacity(r, key) == top][-1]
    return None


def _resolve(
    problems: list[Problem],
    runs: list[LostRun],
    skipped: dict[ObjectKey, list[int]],
    restored: dict[ObjectKey, set[int]],
    corrections: dict[ObjectKey, list[int]],
) -> LossReport:
    versions: dict[str, int] = {}
    span: dict[str, tuple[int, int]] = {}
    lost_keys: dict[ObjectKey, int] = {}
    exact: dict[str, bool] = {}

    def widen(type_name: str, lo: int | None, hi: int | None) -> None:
        if lo is None or hi is None:
            return
        old = span.get(type_name)
        span[type_name] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))

    for key, ts in skipped.items():
        if not ts:
            continue
        versions[key.type] = versions.get(key.type, 0) + len(ts)
        lost_keys[key] = lost_keys.get(key, 0) + len(ts)
        widen(key.type, min(ts), max(ts))
    unknown = 0
    unknown_count = False
    for run in runs:
        if run.total is None:
            unknown_count = True
        named: dict[str, int] = {}
        for key, n in (run.by_key or {}).items():
            if n > 0:
                lost_keys[key] = lost_keys.get(key, 0) + n
                named[key.type] = named.get(key.type, 0) + n
        if run.by_type is None:
            # only the named part has known types; the rest is counted apart
            per_type = named
            unknown += max(0, (run.total or 0) - sum(named.values()))
        else:
            per_type = run.by_type
        for type_name, n in per_type.items():
            if n <= 0:
                continue
            versions[type_name] = versions.get(type_name, 0) + n
            widen(type_name, run.first_t, run.last_t)
            if named.get(type_name, 0) < n:
                exact[type_name] = False
    objects: dict[str, int] = {}
    for key in lost_keys:
        objects[key.type] = objects.get(key.type, 0) + 1
    types = tuple(
        TypeLoss(
            name,
            versions[name],
            objects.get(name, 0),
            exact.get(name, True),
            *span.get(name, (None, None)),
        )
        for name in sorted(versions)
        if versions[name] > 0
    )
    return LossReport(
        problems=tuple(problems),
        types=types,
        unknown_versions=unknown,
        unknown_count=unknown_count,
        lost_objects=frozenset(lost_keys),
        restored={k: frozenset(ts) for k, ts in restored.items()},
        corrected={k: frozenset(ts) for k, ts in corrections.items()},
    )
