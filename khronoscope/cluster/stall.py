"""Noticing that the process itself did not run (SIGSTOP, a suspended laptop, a frozen VM).

Nothing is read from the cluster while the process is stopped; the API server keeps what
happened meanwhile and hands it over at the resume, when every change is stamped with the time
it arrived. So the changes of a stopped stretch are all stamped at its end, and none of the
watches saw anything wrong. The detector ticks on the event loop and compares a clock that keeps
counting while the process is stopped (and, where the OS has one, while the machine sleeps)
with the tick it asked for: a tick late by more than `stall_after` seconds is a gap of every
type (`*`) over the stretch.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from khronoscope.core.source import Gap

ALL_TYPES = "*"


if sys.platform == "linux":

    def stall_clock() -> float:
        """Seconds on a clock that never jumps with the wall clock and also counts while the
        machine is suspended (CLOCK_BOOTTIME; time.monotonic stops then)."""
        return time.clock_gettime(time.CLOCK_BOOTTIME)

else:

    def stall_clock() -> float:
        """Seconds on a clock that never jumps with the wall clock (time.monotonic)."""
        return time.monotonic()


class StallDetector:
    """Reports each stretch in which the event loop did not run for `stall_after` seconds.

    The gap ends one tick after the resume: what the server held back meanwhile arrives in the
    first moments after it (and is stamped then), so it falls inside the gap."""

    def __init__(
        self,
        add_gap: Callable[[Gap], None],
        stall_after: float = 5.0,
        tick: float = 1.0,
        clock: Callable[[], float] = stall_clock,
        wall: Callable[[], int] = time.time_ns,
    ) -> None:
        self.add_gap = add_gap
        self.stall_after = stall_after
        self.tick = min(tick, stall_after / 2)
        self._clock = clock
        self._wall = wall
        self._last = clock()
        self._last_wall = wall()
        self._pending: tuple[int, float] | None = None  # (wall start, seconds) of a stall
        self.stalls = 0

    async def run(self) -> None:
        """Tick until cancelled."""
        self._last, self._last_wall = self._clock(), self._wall()
        while True:
            await asyncio.sleep(self.tick)
            self.observe()

    def observe(self) -> None:
        """One tick: report the stall seen at the previous tick, notice a new one."""
        now, now_wall = self._clock(), self._wall()
        late = now - self._last - self.tick
        self.finish(now_wall)
        if late >= self.stall_after:
            self.stalls += 1
            self._pending = (self._last_wall, late)
        self._last, self._last_wall = now, now_wall

    def finish(self, end: int) -> None:
        """Report a stall not reported yet as a gap ending at `end` (also when closing)."""
        if self._pending is None:
            return
        (start, late), self._pending = self._pending, None
        self.add_gap(
            Gap(
                start,
                max(end, start),
                ALL_TYPES,
                f"khronoscope did not run for {late:.0f} s (process stopped or machine "
                "asleep): changes made meanwhile are stamped when it resumed",
            )
        )
