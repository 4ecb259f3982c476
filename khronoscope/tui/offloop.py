"""The slow half of an export or a drift comparison in a thread, and what it reports back.

The TemporalMap stays on the event loop (a live session writes to it there and it is not
thread-safe): the export's `_async` functions read it there in steps and hand only private
copies to the thread started by `offloader`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from khronoscope.export.steps import Offload

T = TypeVar("T")

Orphaned = Callable[["asyncio.Future[Any]"], None]


def offloader(on_orphan: Orphaned | None = None) -> Offload:
    """An Offload running its function in the loop's default executor, with the caller's context
    (Textual finds its app there, so the thread may post messages).

    A thread cannot be stopped: if the awaiting worker is cancelled (its screen was closed), the
    function still runs to its end, and `on_orphan` then gets its future, on the loop.
    """

    async def offload(fn: Callable[..., T], /, *args: Any) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        future = loop.run_in_executor(None, call)
        try:
            # shielded: a cancelled worker must not mark a still-running thread as done
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(on_orphan or _forget)
            raise

    return offload


def _forget(future: asyncio.Future[Any]) -> None:
    # nobody waits for this outcome any more; reading it keeps asyncio from logging it
    if not future.cancelled():
        future.exception()


class Throttled:
    """`progress(done, total)` passed on at most once per `every` seconds (the last always),
    so a thread rendering thousands of objects does not flood the screen with messages."""

    def __init__(self, report: Callable[[int, int], None], every: float = 0.1) -> None:
        self.report = report
        self.every = every
        self._last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.every:
            return
        self._last = now
        self.report(done, total)
