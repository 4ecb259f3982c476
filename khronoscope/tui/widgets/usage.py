"""CPU and memory of a pod or node over the recorded range, with the cursor's t marked.

Samples are resampled by time into one bucket per cell (the highest value in each bucket, the
previous value carried through empty ones), then drawn with Textual's `Sparkline`; the line
under each sparkline marks the bucket holding t, so the bars line up with time, not with the
sample count.
"""

from __future__ import annotations

import bisect
from datetime import tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from khronoscope.core.quantity import format_cpu, format_memory
from khronoscope.core.source import HistorySource, metrics_of
from khronoscope.core.timefmt import format_clock
from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.metricstore import Sample
from khronoscope.tui.usage import TableTelemetry


def buckets(samples: list[Sample], start: int, end: int, width: int, field: str) -> list[float]:
    """`width` values over [start, end]: the highest sample in each time slice (the last
    value carried forward through slices without samples, 0 before the first)."""
    if width <= 0:
        return []
    out: list[float] = []
    times = [s.t for s in samples]
    span = max(end - start, 1)
    last = 0.0
    for i in range(width):
        lo = start + span * i // width
        hi = start + span * (i + 1) // width
        a = bisect.bisect_left(times, lo)
        b = bisect.bisect_right(times, hi if i == width - 1 else hi - 1)
        if b > a:
            last = float(max(getattr(s, field) for s in samples[a:b]))
        out.append(last)
    return out


def marker(start: int, end: int, width: int, t: int) -> str:
    """A line with `▲` under the cell holding t (`◀`/`▶` when t is outside the range)."""
    if width <= 0:
        return ""
    if t < start:
        return "◀"
    if t > end:
        return " " * (width - 1) + "▶"
    span = max(end - start, 1)
    col = min(width - 1, (t - start) * width // span)
    return " " * col + "▲"


class UsagePanel(Vertical):
    """Two sparklines (CPU, memory) of one object, hidden when it has no samples."""

    DEFAULT_CSS = """
    UsagePanel { height: auto; background: $panel; padding: 0 1; display: none; }
    UsagePanel.-shown { display: block; }
    UsagePanel Sparkline { height: 1; width: 1fr; }
    UsagePanel .usage-mark { height: 1; color: $text-accent; }
    UsagePanel .usage-label { height: 1; }
    """

    def __init__(
        self, source: HistorySource, key: ObjectKey, tz: tzinfo | None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.key = key
        self.tz = tz
        self.telemetry = TableTelemetry(source, key.type)
        self._drawn: tuple[object, ...] = ()
        self._t: int | None = None

    def on_resize(self) -> None:
        """Resample for the new width (the first draw may come before the layout)."""
        if self._t is not None:
            self.show_at(self._t)

    def compose(self) -> ComposeResult:
        """Label, sparkline and marker for CPU, then for memory."""
        for name in ("cpu", "memory"):
            yield Static(classes="usage-label", id=f"usage-{name}-label")
            yield Sparkline([], id=f"usage-{name}")
            yield Static(classes="usage-mark", id=f"usage-{name}-mark")

    def show_at(self, t: int) -> None:
        """Redraw for the cursor at t (cheap when nothing changed)."""
        self._t = t
        store = metrics_of(self.source)
        rng = store.range(self.key) if store is not None else None
        if store is None or rng is None:
            self.remove_class("-shown")
            return
        self.add_class("-shown")
        width = max(self.size.width - 2, 10)
        stamp = (t, store.version, width)
        if stamp == self._drawn:
            return
        self._drawn = stamp
        start, end = rng
        samples = store.series(self.key)
        sample = store.at(self.key, t)
        cells = self.telemetry.cells(self.key, t) if sample is not None else ()
        when = f"{format_clock(start, self.tz)} to {format_clock(end, self.tz)[11:]}"
        for name, fmt in (("cpu", format_cpu), ("memory", format_memory)):
            spark = self.query_one(f"#usage-{name}", Sparkline)
            spark.data = buckets(samples, start, end, width, name)
            value = fmt(getattr(sample, name)) if sample is not None else "n/a"
            label = Text.assemble((f"{'CPU' if name == 'cpu' else 'MEM'} ", "bold"), value)
            share = _share(self.key.type, name, cells)
            if share:
                label.append(f"  {share}", style="dim")
            if name == "cpu":
                label.append(f"   {len(samples)} samples {when}", style="dim")
            self.query_one(f"#usage-{name}-label", Static).update(label)
            self.query_one(f"#usage-{name}-mark", Static).update(marker(start, end, width, t))


def _share(type_name: str, field: str, cells: tuple[str, ...]) -> str:
    """`48% of request · 24% of limit` (pods) or `31% of allocatable` (nodes)."""
    if not cells:
        return ""
    if type_name == "nodes":
        pct = cells[1] if field == "cpu" else cells[3]
        return f"{pct} of allocatable"
    req, lim = (cells[1], cells[2]) if field == "cpu" else (cells[4], cells[5])
    return f"{req} of request · {lim} of limit"
