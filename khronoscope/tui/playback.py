"""The playback cursor: which moment every view shows, and how it moves.

States: live (t follows now), paused at t, playing at a signed speed (negative: rewind). One
small object that every view reads, so the browser, the detail views and the timeline agree on
t. Plain Python: views subscribe with `listeners` and read `t`; nothing here knows about
Textual. The app calls `advance()` from a timer while playing; t is computed from a monotonic
wall clock (`wall`), so a late timer never slows playback down, it only makes bigger steps.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from khronoscope.core.timefmt import now_ns

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Playback speeds, slow motion first; the same ladder backwards for rewind."""

Bounds = Callable[[], tuple[int | None, int | None]]


class Mode(enum.Enum):
    """Live follows now; paused stays at one t; playing moves t at `speed`."""

    LIVE = "live"
    PAUSED = "paused"
    PLAYING = "playing"


def speed_label(speed: float) -> str:
    """`4x`, `0.5x`, `-2x`."""
    return f"{speed:g}x"


class PlaybackCursor:
    """The moment shown.

    `clock` gives now and `wall` a monotonic ns clock (both injectable so tests are exact);
    `bounds()` gives the recorded range (first, last change): rewinding stops at the first,
    playing a finished recording stops at its last; with a live cluster playing forward
    catches up with now and turns live.
    """

    def __init__(
        self,
        clock: Callable[[], int] = now_ns,
        live_available: bool = True,
        t: int | None = None,
        wall: Callable[[], int] = time.monotonic_ns,
        bounds: Bounds | None = None,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.bounds: Bounds = bounds or (lambda: (None, None))
        self.live_available = live_available
        self.mode = Mode.LIVE if (t is None and live_available) else Mode.PAUSED
        self._t = t if t is not None else clock()
        self.speed = 0.0
        self.resume_speed = 1.0
        self._anchor_t = self._t
        self._anchor_wall = 0
        self.listeners: list[Callable[[], None]] = []
        self.version = 0

    # --- reading -----------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True when following now."""
        return self.mode is Mode.LIVE

    @property
    def playing(self) -> bool:
        """True while t moves at `speed`."""
        return self.mode is Mode.PLAYING

    @property
    def t(self) -> int:
        """The moment shown, ns since the epoch (while playing: as of the last `advance`)."""
        return self.clock() if self.mode is Mode.LIVE else self._t

    @property
    def offset(self) -> int:
        """t minus now (negative in the past; 0 when live)."""
        return 0 if self.live else self._t - self.clock()

    def end(self) -> int | None:
        """Where forward playback stops: now with a live cluster, else the last change."""
        return self.clock() if self.live_available else self.bounds()[1]

    # --- moving ------------------------------------------------------------------------------

    def seek(self, t: int, keep_playing: bool = False) -> None:
        """Go to t and pause there (or keep playing from t when playing and `keep_playing`)."""
        self._t = t
        if keep_playing and self.mode is Mode.PLAYING:
            self._anchor(t)
        else:
            self.mode = Mode.PAUSED
            self.speed = 0.0
        self._changed()

    def pause(self) -> None:
        """Stay at the moment shown now."""
        if self.mode is not Mode.PAUSED:
            self.seek(self.t)

    def go_live(self) -> bool:
        """Follow now again; False when there is no live cluster (a recording)."""
        if not self.live_available:
            return False
        if self.mode is not Mode.LIVE:
            self.mode = Mode.LIVE
            self.speed = 0.0
            self._changed()
        return True

    def play(self, speed: float | None = None) -> None:
        """Play from the moment shown at `speed` (default: the last speed played, else 1x)."""
        speed = self.resume_speed if speed is None else speed
        if speed == 0:
            self.pause()
            return
        self._t = self.t
        self.mode = Mode.PLAYING
        self.speed = speed
        self.resume_speed = speed
        self._anchor(self._t)
        self._changed()

    def toggle(self) -> None:
        """Space: live or playing -> paused; paused -> playing at the last speed."""
        if self.mode is Mode.PAUSED:
            self.play()
        else:
            self.pause()

    def faster(self) -> bool:
        """`>`: from paused play 1x; faster forward, or slower rewind down to a pause.

        False when already as fast as it goes (or live: nothing is ahead of now).
        """
        if self.mode is Mode.LIVE:
            return False
        if self.mode is Mode.PAUSED:
            self.play(1.0)
            return True
        return self._turn(+1)

    def slower(self) -> bool:
        """`<`: from paused or live rewind 1x; faster rewind, or slower forward down to a pause."""
        if self.mode is not Mode.PLAYING:
            self.play(-1.0)
            return True
        return self._turn(-1)

    def _turn(self, direction: int) -> bool:
        # a jog dial: ... -2x -1x -0.5x -0.25x [pause] 0.25x 0.5x 1x 2x ... 64x
        magnitude = abs(self.speed)
        i = SPEEDS.index(magnitude) if magnitude in SPEEDS else SPEEDS.index(1.0)
        if (self.speed > 0) == (direction > 0):
            if i + 1 >= len(SPEEDS):
                return False
            self.play(direction * SPEEDS[i + 1])
        elif i == 0:
            self.pause()
        else:
            self.play(-direction * SPEEDS[i - 1])
        return True

    def advance(self) -> bool:
        """Move t by speed x the wall time since playing began (the app's timer calls this).

        Stops at the recorded range's ends; forward into now turns live. False if not playing.
        """
        if self.mode is not Mode.PLAYING:
            return False
        t = self._anchor_t + round(self.speed * (self.wall() - self._anchor_wall))
        first, _last = self.bounds()
        end = self.end()
        if self.speed > 0 and end is not None and t >= end:
            if self.live_available:
                self.mode = Mode.LIVE
                self.speed = 0.0
                self._changed()
                return True
            self._t = end
            self.mode = Mode.PAUSED
            self.speed = 0.0
        elif self.speed < 0 and first is not None and t <= first:
            self._t = first
            self.mode = Mode.PAUSED
            self.speed = 0.0
        else:
            self._t = t
        self._changed()
        return True

    def _anchor(self, t: int) -> None:
        self._anchor_t = t
        self._anchor_wall = self.wall()

    def _changed(self) -> None:
        self.version += 1
        for listener in list(self.listeners):
            listener()
