"""The playback cursor: which moment every view shows (live, or paused at t).

One small object that every view reads, so the browser and the time controls (a later issue:
play at a speed, step per change, timeline) agree on t. Plain Python: views subscribe with
`listeners` and ask `t`; nothing here knows about Textual.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from khronoscope.core.timefmt import now_ns


class Mode(enum.Enum):
    """Live follows now; paused stays at one t."""

    LIVE = "live"
    PAUSED = "paused"


class PlaybackCursor:
    """The moment shown. `clock` gives now (injectable so tests and snapshots are stable)."""

    def __init__(
        self,
        clock: Callable[[], int] = now_ns,
        live_available: bool = True,
        t: int | None = None,
    ) -> None:
        self.clock = clock
        self.live_available = live_available
        self.mode = Mode.LIVE if (t is None and live_available) else Mode.PAUSED
        self._t = t if t is not None else clock()
        self.listeners: list[Callable[[], None]] = []
        self.version = 0

    @property
    def live(self) -> bool:
        """True when following now."""
        return self.mode is Mode.LIVE

    @property
    def t(self) -> int:
        """The moment shown, ns since the epoch."""
        return self.clock() if self.mode is Mode.LIVE else self._t

    @property
    def offset(self) -> int:
        """t minus now (negative in the past; 0 when live)."""
        return 0 if self.live else self._t - self.clock()

    def seek(self, t: int) -> None:
        """Pause at t."""
        self._t = t
        self.mode = Mode.PAUSED
        self._changed()

    def pause(self) -> None:
        """Stay at the moment shown now."""
        if self.mode is Mode.LIVE:
            self.seek(self.clock())

    def go_live(self) -> bool:
        """Follow now again; False when there is no live cluster (a recording)."""
        if not self.live_available:
            return False
        if self.mode is not Mode.LIVE:
            self.mode = Mode.LIVE
            self._changed()
        return True

    def _changed(self) -> None:
        self.version += 1
        for listener in list(self.listeners):
            listener()
