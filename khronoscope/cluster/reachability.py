"""Noticing that an unreachable API server is back, with one probe for the whole session.

While the server is down each watcher backs off on its own (up to `backoff_max` between
attempts, so fifty types do not hammer a server that is starting). Meanwhile one probe asks it
about once a second whether it answers; when it answers again after failing, every watcher still
waiting is woken at once. So a server that is back is watched again within about a second,
however long the outage was and however far each watcher's backoff had grown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Reachability:
    """Waits that end early when the server is seen coming back (down, then up)."""

    def __init__(self, probe: Callable[[], Awaitable[bool]], interval: float = 1.0) -> None:
        self._probe = probe
        self.interval = interval
        self._back = asyncio.Event()
        self._waiters = 0
        self._task: asyncio.Task[None] | None = None
        self.probes = 0  # how many times the server was asked (diagnostics, tests)
        self.comebacks = 0  # how many times it was seen coming back

    async def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True when cut short because the server came back."""
        back = self._back
        self._waiters += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="khronoscope reachability probe")
        try:
            async with asyncio.timeout(timeout):
                await back.wait()
        except TimeoutError:
            return False
        finally:
            self._waiters -= 1
        return True

    async def _run(self) -> None:
        # Only a down -> up transition wakes anyone: a probe that finds the server up at once
        # means the failure was not an outage, and the watcher's own (short) backoff applies.
        down = False
        while self._waiters:
            ok = await self._probe()
            self.probes += 1
            if not ok:
                down = True
            elif down:
                down = False
                self.comebacks += 1
                back, self._back = self._back, asyncio.Event()
                back.set()
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        """Stop probing."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
