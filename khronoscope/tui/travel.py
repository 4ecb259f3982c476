"""Where the time controls move the cursor: steps between changes, jumps by an interval, typed
times and bookmarks. Pure functions over a TemporalMap (no Textual), so they are unit-tested
on their own and the app only wires keys to them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from khronoscope.core.source import Bookmark
from khronoscope.core.timefmt import NS, TimeParseError, parse_time
from khronoscope.core.types import ObjectKey
from khronoscope.temporal.map import ChangeRef, Namespaces
from khronoscope.temporal.reader import TemporalReader

INTERVALS: tuple[int, ...] = (10 * NS, 60 * NS, 600 * NS, 3600 * NS)
"""Jump intervals `i` cycles through (10 s, 1 min, 10 min, 1 h)."""

# a filtered step scans changes one by one: past this many it gives up rather than freeze
_SCAN_LIMIT = 200_000

RowMatch = Callable[[ObjectKey, Hashable | None], bool]


@dataclass(frozen=True)
class StepScope:
    """Which changes a step counts: one object's, or a type's (some namespaces, optionally
    only keys whose row passes `match`: the table's filter; `match_reads_row` False when it
    reads only the key, so no row is computed for it)."""

    type: str | None = None
    namespace: Namespaces = None
    key: ObjectKey | None = None
    match: RowMatch | None = None
    match_reads_row: bool = True

    def contains(self, tmap: TemporalReader, ref: ChangeRef) -> bool:
        """True when the change belongs to the scope (the row before or after it matches)."""
        if self.key is not None:
            return ref.key == self.key
        if self.match is None:
            return True
        if not self.match_reads_row:
            return self.match(ref.key, None)
        for row in (tmap.row(ref.key, ref.t), tmap.row(ref.key, ref.t - 1)):
            if row is not None and (not hasattr(row, "cells") or self.match(ref.key, row)):
                return True
        return False


def format_interval(d: int) -> str:
    """`10s`, `1m`, `10m`, `1h30m`."""
    s = d // NS
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    parts = [f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v]
    return "".join(parts) or f"{d / NS:g}s"


def parse_interval(text: str) -> int:
    """`5m`, `30s`, `1h30m` as ns (> 0); TimeParseError otherwise."""
    raw = text.strip().lstrip("+")
    try:
        d = parse_time("+" + raw, now=0)
    except TimeParseError:
        raise TimeParseError(f"bad interval {text!r}: use 10s, 5m, 1h30m") from None
    if d <= 0:
        raise TimeParseError(f"bad interval {text!r}: use 10s, 5m, 1h30m")
    return d


ZOOMS: tuple[int, ...] = (60 * NS, 600 * NS, 3600 * NS, 6 * 3600 * NS, 86400 * NS)
"""Spans the timeline can zoom to (1 min .. 1 day); None is the whole record."""


def zoom_in(current: int | None, recorded: int) -> int | None:
    """The next narrower timeline span (`z`): from the whole record, the widest zoom that is
    narrower than what was recorded; None when already at the narrowest."""
    span = recorded if current is None else current
    narrower = [z for z in ZOOMS if z < span]
    return narrower[-1] if narrower else current


def zoom_out(current: int | None, recorded: int) -> int | None:
    """The next wider span (`Z`); None (the whole record) once it would show all of it."""
    if current is None:
        return None
    wider = [z for z in ZOOMS if z > current]
    return wider[0] if wider and wider[0] < recorded else None


def zoom_window(t: int, span: int, first: int, last: int) -> tuple[int, int]:
    """The part of [first, last] a zoomed timeline shows around t: `span` wide, moved in
    quarter-span steps (so its bars are not recomputed every frame while playing), kept inside
    the record where it can be."""
    step = max(span // 4, 1)
    start = (t - span // 2) // step * step
    start = max(min(start, last - span), first)
    return start, start + span


def next_interval(current: int) -> int:
    """The next of INTERVALS after `current` (wrapping)."""
    bigger = [d for d in INTERVALS if d > current]
    return bigger[0] if bigger else INTERVALS[0]


# --- steps -------------------------------------------------------------------------------------


def next_step(tmap: TemporalReader, t: int, scope: StepScope) -> int | None:
    """The time of the first change in scope strictly after t (None: nothing later)."""
    if scope.key is not None:
        return tmap.next_change(t, key=scope.key)
    if scope.match is None:
        return tmap.next_change(t, type=scope.type, namespace=scope.namespace)
    for n, ref in enumerate(tmap.changes(t + 1, None, scope.type, scope.namespace)):
        if n >= _SCAN_LIMIT:
            return None
        if scope.contains(tmap, ref):
            return ref.t
    return None


def latest_change(tmap: TemporalReader, t: int, scope: StepScope) -> int | None:
    """The time of the last change in scope at or before t (the one the view shows last)."""
    return _before(tmap, t + 1, scope)


def previous_step(tmap: TemporalReader, t: int, scope: StepScope) -> int | None:
    """Where stepping back goes: the change before the latest one at or before t, so each step
    back undoes one change the view shows (None: no earlier change)."""
    shown = latest_change(tmap, t, scope)
    return None if shown is None else _before(tmap, shown, scope)


def _before(tmap: TemporalReader, t: int, scope: StepScope) -> int | None:
    """The last change in scope strictly before t."""
    if scope.key is not None:
        return tmap.previous_change(t, key=scope.key)
    if scope.match is None:
        return tmap.previous_change(t, type=scope.type, namespace=scope.namespace)
    # changes() only runs forwards: look in windows that grow backwards from t
    first = tmap.first_t
    if first is None:
        return None
    width = 60 * NS
    hi = t - 1
    scanned = 0
    while hi >= first:
        lo = max(hi - width, first)
        found = None
        for ref in tmap.changes(lo, hi, scope.type, scope.namespace):
            scanned += 1
            if scope.contains(tmap, ref):
                found = ref.t
        if found is not None:
            return found
        if scanned >= _SCAN_LIMIT:
            return None
        hi = lo - 1
        width *= 4
    return None


def changes_at(tmap: TemporalReader, t: int, scope: StepScope, limit: int = 50) -> list[ChangeRef]:
    """The changes in scope made exactly at t (what a step landed on), at most `limit`."""
    if scope.key is not None:
        refs: Iterable[ChangeRef] = (
            r for r in tmap.changes(t, t, scope.key.type, scope.key.namespace) if r.key == scope.key
        )
    else:
        refs = (
            r for r in tmap.changes(t, t, scope.type, scope.namespace) if scope.contains(tmap, r)
        )
    out = []
    for ref in refs:
        out.append(ref)
        if len(out) >= limit:
            break
    return out


# --- bookmarks ---------------------------------------------------------------------------------


def next_bookmark(bookmarks: Sequence[Bookmark], t: int) -> Bookmark | None:
    """The first bookmark strictly after t."""
    later = [b for b in bookmarks if b.t > t]
    return min(later, key=lambda b: (b.t, b.id)) if later else None


def previous_bookmark(bookmarks: Sequence[Bookmark], t: int) -> Bookmark | None:
    """The last bookmark strictly before t."""
    earlier = [b for b in bookmarks if b.t < t]
    return max(earlier, key=lambda b: (b.t, b.id)) if earlier else None


# --- typed times -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a typed time points: a moment, or live."""

    t: int | None
    live: bool = False
    what: str = ""


def parse_target(
    text: str,
    cursor: int,
    start: int | None,
    end: int | None,
    tz: tzinfo | None = None,
    bookmarks: Sequence[Bookmark] = (),
) -> Target:
    """Read a go-to time: ISO 8601, a clock time (of the cursor's day), relative to the cursor
    (`-15m`, `+30s`), `start`, `end`, `now`/`live`, or a bookmark's label.

    Raises TimeParseError with one line when the text is none of those.
    """
    s = text.strip()
    word = s.lower()
    if word in ("now", "live"):
        return Target(None, live=True, what="live")
    if word in ("start", "begin", "beginning", "first"):
        if start is None:
            raise TimeParseError("nothing is recorded yet: no start to go to")
        return Target(start, what="start of the record")
    if word in ("end", "last"):
        if end is None:
            raise TimeParseError("nothing is recorded yet: no end to go to")
        return Target(end, what="end of the record")
    for b in bookmarks:
        if s and b.label.lower() == word:
            return Target(b.t, what=f"bookmark {b.label!r}")
    if not s:
        raise TimeParseError(
            "type a time: 14:32, 14:32:05, -15m, +30s, 2026-03-14T09:01:00Z, start, now"
        )
    return Target(parse_time(s, now=cursor, tz=tz), what="went to")
