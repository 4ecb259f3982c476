"""The timeline strip: the recorded range, where the cursor is, how busy each moment was (for
what is in view), where something went wrong in view (red: x/X step there), bookmarks, and
gaps where watching was interrupted. A click seeks.

    09:00:00 ▁▁▂▅█▃▁▁ ▁▁▁▁▂▁░░░▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁ now
    pods     ◆     ▲ 09:02:35                    ◆        ±1m  no later change of pods

Cheap to repaint while playing at 64x: the densities (one `count_changes` per bucket, two
bisects per index list) are cached and recomputed only when the store, the range or the scope
changes (a live range, whose end is now, at most once a second); drawing is two short lines.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

from khronoscope.core.provenance import provenance_of
from khronoscope.core.safetext import safe_line
from khronoscope.core.source import Bookmark, Gap
from khronoscope.core.timefmt import format_clock
from khronoscope.temporal.reader import TemporalReader
from khronoscope.tui.travel import StepScope, format_interval, zoom_window
from khronoscope.tui.trouble import TroubleIndex, TroubleScope

if TYPE_CHECKING:
    from khronoscope.tui.timecontrol import TimeControl

BARS = " ▁▂▃▄▅▆▇█"
TROUBLE_BUDGET_S = 0.008
"""Time a frame may spend finding trouble moments for the strip's red marks."""
_LIVE_REFRESH_S = 1.0
_DIM = Style(dim=True)
_BAR = Style(color="cyan")
_GAP = Style(color="cyan", bgcolor="#5f1f1f")
# history before watching began: rebuilt from what the cluster kept, or imported from audit logs
_RECONSTRUCTED = Style(color="magenta", italic=True)
_IMPORTED = Style(color="blue")
_TROUBLE = Style(color="red", bold=True)
_MARK = Style(color="yellow", bold=True)
_MARK_DIM = Style(color="yellow")
_CURSOR = Style(reverse=True, bold=True, color="bright_white")
_LABEL = Style(bold=True, color="bright_white")
_SCOPE = Style(color="cyan", dim=True)
_MESSAGE = Style(color="yellow")


def _strip(cells: list[tuple[str, Style | None]], width: int, base: Style) -> Strip:
    """Styled cells as a strip: one segment per run of equal style."""
    segments: list[Segment] = []
    run: list[str] = []
    current: Style | None = None
    for ch, style in cells:
        if style is not current and run:
            segments.append(Segment("".join(run), base + current if current else base))
            run = []
        current = style
        run.append(ch)
    if run:
        segments.append(Segment("".join(run), base + current if current else base))
    return Strip(segments).adjust_cell_length(width, base)


@dataclass(frozen=True)
class Layout:
    """Where the bars are: columns [x0, x0 + n) cover [start, end)."""

    start: int
    end: int
    x0: int
    n: int

    def bucket(self, t: int) -> int:
        """The bar of moment t (clamped to the strip)."""
        if self.n <= 0 or self.end <= self.start:
            return 0
        i = (t - self.start) * self.n // (self.end - self.start)
        return max(0, min(self.n - 1, i))

    def time_of(self, i: int) -> int:
        """The middle of bar i."""
        span = self.end - self.start
        return self.start + (2 * i + 1) * span // (2 * self.n) if self.n else self.start

    def bounds(self, i: int) -> tuple[int, int]:
        """[lo, hi] of bar i (inclusive)."""
        span = self.end - self.start
        lo = self.start + i * span // self.n
        hi = self.start + (i + 1) * span // self.n - 1
        return lo, max(lo, hi)


def densities(tmap: TemporalReader, layout: Layout, scope: StepScope) -> list[int]:
    """Changes per bar, of one object or of a type/namespace scope."""
    if scope.key is not None:
        times = tmap.version_times(scope.key)
        out = []
        for i in range(layout.n):
            lo, hi = layout.bounds(i)
            out.append(bisect_right(times, hi) - bisect_left(times, lo))
        return out
    return [
        tmap.count_changes(*layout.bounds(i), scope.type, scope.namespace) for i in range(layout.n)
    ]


def bar_chars(counts: Sequence[int]) -> str:
    """One block character per count, log-scaled so a quiet moment still shows."""
    top = max(counts, default=0)
    if not top:
        return " " * len(counts)
    scale = math.log1p(top)
    return "".join(BARS[max(1, math.ceil(8 * math.log1p(c) / scale))] if c else " " for c in counts)


def time_label(t: int, tz: tzinfo | None, same_day: bool) -> str:
    """`09:00:00`, or `03-14 09:00` when the range spans days."""
    text = format_clock(t, tz)
    return text[11:] if same_day else text[5:16]


class Timeline(Widget):
    """Two lines across the screen; reads the time control (its cursor, source, message and
    zoom) and what its screen has in view."""

    DEFAULT_CSS = """
    Timeline { height: 2; background: $panel; }
    """

    def __init__(self, time: TimeControl, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.time = time
        self._cache_key: tuple[object, ...] | None = None
        self._cache_at = 0.0
        self._layout = Layout(0, 0, 0, 0)
        self._bars = ""
        self._gaps: list[bool] = []
        self._before: list[Style | None] = []
        self._marks: dict[int, Bookmark] = {}
        self._trouble: TroubleIndex | None = None
        self._troubles: dict[TroubleScope, TroubleIndex] = {}  # the last views', oldest first
        self._trouble_cells: list[bool] = []
        self._trouble_version = 0
        self._trouble_pending = False
        self._lines: list[Strip] = [Strip.blank(0), Strip.blank(0)]
        self._line_keys: list[tuple[object, ...]] = [(), ()]
        self.renders = 0

    def on_mount(self) -> None:
        """Repaint when the cursor moves or the message or zoom changes, and now and then for
        a live range."""
        self.time.playback.listeners.append(self.refresh)
        self.time.listeners.append(self.refresh)
        if self.time.playback.live_available:
            self.set_interval(1.0, self.refresh)  # the range's end is now

    def on_unmount(self) -> None:
        """Stop listening to the cursor and the time control."""
        for listeners in (self.time.playback.listeners, self.time.listeners):
            if self.refresh in listeners:
                listeners.remove(self.refresh)

    # --- the model ---------------------------------------------------------------------------

    def range(self) -> tuple[int, int]:
        """The recorded range shown: first change to now (live) or to the last change."""
        playback = self.time.playback
        t = playback.t
        first, last = playback.bounds()
        if playback.live_available:
            last = playback.clock()
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        zoom = self.time.timeline_zoom
        if zoom is not None and last - first > zoom:
            return zoom_window(t, zoom, first, last)
        return first, max(last, first + 1)

    def _update(self, width: int) -> None:
        control = self.time
        tmap = control.source.tmap
        scope = control.in_view(self.screen).step
        start, end = self.range()
        left = len(time_label(start, control.settings.tz, True))
        right = len(self._end_label(start, end))
        n = max(width - left - right - 2, 1)
        # a `*` gap (the recorder did not run, a damaged stretch) concerns every type
        gaps = tuple(
            g for g in control.source.gaps() if scope.type is None or g.type in (scope.type, "*")
        )
        store = provenance_of(control.source)
        spans = (store.observed_from, store.imported) if store is not None else (None, None)
        view = (
            width,
            n,
            scope.type,
            scope.namespace,
            scope.key,
            gaps,
            control.timeline_zoom,
            spans,
        )
        now = time.monotonic()
        if control.playback.live_available:
            # the range's end is now and changes keep coming: keep the layout up to a second,
            # so a busy live strip is recomputed once a second, not every frame
            key: tuple[object, ...] = view
            if control.timeline_zoom is not None:
                key = (*view, start)  # a zoomed window moves in quarter steps: follow it
            fresh = key == self._cache_key and now - self._cache_at < _LIVE_REFRESH_S
        else:
            key = (*view, tmap.change_count, start, end)
            fresh = key == self._cache_key
        if not fresh:
            self._cache_key = key
            self._cache_at = now
            layout = Layout(start, end, left + 1, n)
            self._layout = layout
            self._bars = bar_chars(densities(tmap, layout, scope))
            self._gaps = self._gap_cells(list(gaps), layout)
            self._before = self._before_cells(*spans, layout)
        self._update_trouble(fresh)
        self._refresh_marks()

    def _update_trouble(self, fresh: bool) -> None:
        """Mark the bars where something went wrong in view; the moments are found a slice
        per frame (a big record is never scanned in one go) and drawn as they are found."""
        control = self.time
        tmap = control.source.tmap
        scope = control.in_view(self.screen).trouble
        index = self._trouble
        if index is None or index.scope != scope or index.tmap is not tmap:
            # a view switched back to resumes its scan (50k pods take seconds of slices)
            index = self._troubles.pop(scope, None)
            if index is None or index.tmap is not tmap:
                index = TroubleIndex(tmap, scope)
            self._troubles[scope] = self._trouble = index
            if len(self._troubles) > 8:
                del self._troubles[next(iter(self._troubles))]
            fresh = False
        found = index.advance(TROUBLE_BUDGET_S)
        layout = self._layout
        if found or not fresh or len(self._trouble_cells) != layout.n:
            cells = [bool(index.between(*layout.bounds(i))) for i in range(layout.n)]
            if cells != self._trouble_cells:
                self._trouble_cells = cells
                self._trouble_version += 1
        if not index.complete and not self._trouble_pending:
            self._trouble_pending = True
            self.set_timer(TROUBLE_BUDGET_S * 5, self._trouble_again)

    @property
    def trouble_complete(self) -> bool:
        """True once every trouble moment of the view is found (its marks drawn)."""
        return self._trouble is not None and self._trouble.complete

    def _trouble_again(self) -> None:
        self._trouble_pending = False
        self.refresh()

    def _end_label(self, start: int, end: int) -> str:
        if self.time.playback.live_available and self.time.timeline_zoom is None:
            return "now"
        tz = self.time.settings.tz
        return time_label(end, tz, format_clock(start, tz)[:10] == format_clock(end, tz)[:10])

    def _refresh_marks(self) -> None:
        layout = self._layout
        self._marks = {layout.bucket(b.t): b for b in self.time.source.bookmarks()}

    @staticmethod
    def _gap_cells(gaps: list[Gap], layout: Layout) -> list[bool]:
        cells = [False] * layout.n
        for g in gaps:
            if g.end < layout.start or g.start > layout.end:
                continue
            for i in range(layout.bucket(g.start), layout.bucket(g.end) + 1):
                cells[i] = True
        return cells

    @staticmethod
    def _before_cells(
        observed_from: int | None, imported: tuple[int, int] | None, layout: Layout
    ) -> list[Style | None]:
        """Per cell: the style of history from before watching began (None: watched)."""
        if observed_from is None or observed_from <= layout.start:
            return []
        cells: list[Style | None] = [None] * layout.n
        for i in range(layout.n):
            lo, hi = layout.bounds(i)
            if hi > observed_from:
                break
            inside = imported is not None and imported[0] <= lo and hi <= imported[1]
            cells[i] = _IMPORTED if inside else _RECONSTRUCTED
        return cells

    # --- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line 0: range labels and bars; line 1: scope, marks, the cursor's time, messages.

        Both are built as runs of styled cells and kept until what they show changes, so a
        frame while playing or stepping costs a comparison, not a re-render.
        """
        width = self.size.width
        base = self.rich_style
        if width <= 0:
            return Strip.blank(0)
        if y == 0:
            self.renders += 1
            self._update(width)
        layout = self._layout
        cursor = layout.bucket(self.time.playback.t)
        if y == 0:
            key: tuple[object, ...] = (self._cache_key, self._cache_at, tuple(self._marks))
            key = (*key, self._trouble_version)
            key = (*key, cursor, width, base)
            if key != self._line_keys[0]:
                self._lines[0] = _strip(self._bars_cells(cursor), width, base)
                self._line_keys[0] = key
            return self._lines[0]
        control = self.time
        scope_label = control.in_view(self.screen).label
        clock = format_clock(control.playback.t, control.settings.tz)[11:]
        key = (cursor, clock, control.message, control.jump_interval, control.timeline_zoom)
        key = (*key, tuple(self._marks))
        key = (*key, scope_label, width, base)
        if key != self._line_keys[1]:
            cells = self._marks_cells(cursor, width, clock, scope_label)
            self._lines[1] = _strip(cells, width, base)
            self._line_keys[1] = key
        return self._lines[1]

    def _bars_cells(self, cursor: int) -> list[tuple[str, Style | None]]:
        layout = self._layout
        tz = self.time.settings.tz
        start, end = layout.start, layout.end
        same_day = format_clock(start, tz)[:10] == format_clock(end, tz)[:10]
        cells: list[tuple[str, Style | None]] = [
            (ch, _DIM) for ch in time_label(start, tz, same_day).ljust(layout.x0 - 1)
        ]
        cells.append((" ", None))
        gaps = self._gaps
        before = self._before
        trouble = self._trouble_cells
        for i, ch in enumerate(self._bars):
            style = before[i] or _BAR if before else _BAR
            if trouble and i < len(trouble) and trouble[i]:
                style = _TROUBLE
            if gaps and gaps[i]:
                style = _GAP
                ch = ch if ch != " " else "░"
            if i in self._marks:
                ch, style = "◆", _MARK
            if i == cursor:
                ch, style = (ch if ch != " " else "│"), _CURSOR
            cells.append((ch, style))
        cells.extend((ch, _DIM) for ch in " " + self._end_label(start, end))
        return cells

    def _marks_cells(
        self, cursor: int, width: int, clock: str, scope_label: str
    ) -> list[tuple[str, Style | None]]:
        control = self.time
        layout = self._layout
        # messages and the scope quote bookmark labels, namespaces and object names
        message = safe_line(control.message)
        scope_label = safe_line(scope_label)
        interval = control.jump_interval
        cells: list[tuple[str, Style | None]] = [(" ", None)] * width
        for i in self._marks:
            x = layout.x0 + i
            if 0 <= x < width:
                cells[x] = ("◆", _MARK_DIM)
        x = layout.x0 + cursor
        label = f"▲ {clock}"
        lx = x if x + len(label) <= width else max(0, x - len(label) + 1)
        if lx + len(label) > width:
            lx = max(0, width - len(label))
        if x + len(label) > width:
            label = f"{clock} ▲"
        for k, ch in enumerate(label):
            if lx + k < width:
                cells[lx + k] = (ch, _LABEL)
        # the scope on the left, up to the first mark or the cursor
        left = 0
        for k, ch in enumerate(scope_label[: min(32, lx - 1)]):
            if cells[k][0] != " ":
                break
            cells[k] = (ch, _SCOPE)
            left += 1
        # the message goes on the wider side of the cursor's label
        tail = f"  ±{format_interval(interval)}"
        if control.timeline_zoom is not None:
            tail += f"  zoom {format_interval(control.timeline_zoom)}"
        left_from = left + 2
        left_room = lx - 2 - left_from
        right_room = width - (lx + len(label)) - 2
        room = max(left_room, right_room)
        if len(message) + len(tail) > room:
            keep = room - len(tail) - 1
            message = message[:keep] + "…" if keep > 8 else ""
        status = message + tail
        if len(status) <= room:
            sx = width - len(status) if right_room >= left_room else left_from
            for k, ch in enumerate(status):
                cells[sx + k] = (ch, _MESSAGE if k < len(message) else _DIM)
        return cells

    # --- seeking -----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        """Seek to the moment under the mouse (a bookmark's own moment on its mark)."""
        layout = self._layout
        i = event.x - layout.x0
        if not 0 <= i < layout.n:
            return
        mark = self._marks.get(i)
        t = mark.t if mark is not None else layout.time_of(i)
        self.time.seek_to(t, keep_playing=True, why="timeline")
        event.stop()
