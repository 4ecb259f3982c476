"""Fault injection for tests: make the simulated API server misbehave on purpose.

`Faults` is consulted by every request. Watches register here so they can be dropped.
Call these from the event loop that runs the server (or through `SimClusterThread.call`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class _FailRule:
    remaining: int
    status: int
    match: re.Pattern[str] | None


@dataclass(eq=False)
class WatchHandle:
    """One open watch stream: how to end it politely or cut it."""

    path: str
    transport: Any
    ended: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def end(self, how: str) -> None:
        """Ask the stream to stop: "graceful" (clean end of stream) or "abort" (cut the TCP)."""
        if not self.ended.done():
            self.ended.set_result(how)
        if how == "abort" and self.transport is not None:
            self.transport.abort()


class Faults:
    """What the server should get wrong next: failures, delays, dropped watches, compaction."""

    def __init__(self, compact: Callable[[], int] | None = None) -> None:
        self._rules: list[_FailRule] = []
        self.delay_seconds = 0.0
        self._delay_match: re.Pattern[str] | None = None
        self.watches: set[WatchHandle] = set()
        self._compact = compact
        self.failed = 0  # requests answered with an injected failure
        self.retry_after = 1  # seconds a 429 asks the client to wait, as kube-apiserver does

    def fail_next(self, n: int, status: int = 500, match: str | None = None) -> None:
        """Answer the next `n` requests (whose path matches regex `match`) with `status`."""
        self._rules.append(_FailRule(n, status, re.compile(match) if match else None))

    def delay(self, seconds: float, match: str | None = None) -> None:
        """Delay every response (of paths matching `match`) by `seconds`; 0 turns it off."""
        self.delay_seconds = max(0.0, seconds)
        self._delay_match = re.compile(match) if match else None

    def drop_watches(self, graceful: bool = False, match: str | None = None) -> int:
        """End every open watch and followed log (those whose path matches regex `match`):
        cut the connection (default) or end the stream cleanly. Returns how many."""
        pattern = re.compile(match) if match else None
        handles = [h for h in self.watches if pattern is None or pattern.search(h.path)]
        for h in handles:
            h.end("graceful" if graceful else "abort")
        return len(handles)

    def compact(self) -> int:
        """Expire every resourceVersion up to now (watches and continues from before get 410)."""
        if self._compact is None:
            raise RuntimeError("no store to compact")
        return self._compact()

    def clear(self) -> None:
        """Stop injecting failures and delays."""
        self._rules.clear()
        self.delay_seconds = 0.0
        self._delay_match = None

    def take_failure(self, path: str) -> int | None:
        """The status to fail this request with, consuming one injected failure; None if none."""
        for rule in self._rules:
            if rule.remaining > 0 and (rule.match is None or rule.match.search(path)):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                self.failed += 1
                return rule.status
        return None

    def delay_for(self, path: str) -> float:
        """Seconds to delay this request."""
        if self.delay_seconds and (self._delay_match is None or self._delay_match.search(path)):
            return self.delay_seconds
        return 0.0
