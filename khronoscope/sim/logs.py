"""Container logs of the simulated cluster: what `GET .../pods/NAME/log` serves.

Each container has its current lines and, after a restart, the previous instance's lines
(`previous=true`). Lines carry the server-side time they were written, printed as RFC 3339
with nanoseconds when `timestamps=true`. Followers (`follow=true`) wait for new lines and end
when the container restarts or the pod goes away, as with the kubelet.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

MAX_LINES = 10_000  # per container instance: older lines are rotated away, as kubelet does


def rfc3339_nano(t_ns: int) -> str:
    """`2026-11-23T14:32:05.123456789Z`, the kubelet's log timestamp format."""
    secs, frac = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


@dataclass(slots=True)
class ContainerLog:
    """The lines of one container: current instance, previous instance, and the followers."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    previous: list[tuple[int, str]] | None = None
    dropped: int = 0  # lines rotated away from the current instance
    instance: int = 0  # bumped at each restart
    closed: bool = False  # the pod is gone
    _waiter: asyncio.Future[None] | None = None

    def notify(self) -> None:
        """Wake the followers."""
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def changed(self) -> asyncio.Future[None]:
        """A future resolved at the next line, restart or close."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The options of a log request (the query parameters of /log)."""

    timestamps: bool = False
    since_ns: int | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None
    previous: bool = False


def format_line(t_ns: int, text: str, timestamps: bool) -> str:
    """One log line as served."""
    return f"{rfc3339_nano(t_ns)} {text}\n" if timestamps else f"{text}\n"


class LogStore:
    """Logs of every container, keyed by (namespace, pod, container)."""

    def __init__(self) -> None:
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}

    def get(self, namespace: str, pod: str, container: str) -> ContainerLog | None:
        """The log of one container, or None if it never wrote."""
        return self._logs.get((namespace, pod, container))

    def _log(self, namespace: str, pod: str, container: str) -> ContainerLog:
        key = (namespace, pod, container)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = ContainerLog()
        return log

    def append(self, namespace: str, pod: str, container: str, text: str, t_ns: int) -> None:
        """Write one line (without its newline) at time t_ns."""
        log = self._log(namespace, pod, container)
        log.closed = False
        log.lines.append((t_ns, text))
        if len(log.lines) > MAX_LINES + MAX_LINES // 4:
            cut = len(log.lines) - MAX_LINES
            del log.lines[:cut]
            log.dropped += cut
        log.notify()

    def restart(self, namespace: str, pod: str, container: str) -> None:
        """The container restarted: its lines become the previous instance's."""
        log = self._log(namespace, pod, container)
        log.previous = log.lines
        log.lines = []
        log.dropped = 0
        log.instance += 1
        log.notify()

    def remove_pod(self, namespace: str, pod: str) -> None:
        """The pod is gone: end its followers and forget its logs."""
        for key in [k for k in self._logs if k[0] == namespace and k[1] == pod]:
            log = self._logs.pop(key)
            log.closed = True
            log.notify()

    def lines(self, namespace: str, pod: str, container: str, q: LogQuery) -> list[tuple[int, str]]:
        """The lines a non-follow request returns (after sinceTime and tailLines)."""
        log = self._logs.get((namespace, pod, container))
        if log is None:
            return []
        source = (log.previous or []) if q.previous else log.lines
        return select(source, q)

    def container_count(self) -> int:
        """Number of containers that have logs."""
        return len(self._logs)


def select(source: list[tuple[int, str]], q: LogQuery) -> list[tuple[int, str]]:
    """Apply sinceTime/sinceSeconds and tailLines to a list of lines."""
    out = source
    if q.since_ns is not None:
        # lines are in time order: find the first at or after since
        lo, hi = 0, len(out)
        while lo < hi:
            mid = (lo + hi) // 2
            if out[mid][0] < q.since_ns:
                lo = mid + 1
            else:
                hi = mid
        out = out[lo:]
    if q.tail_lines is not None:
        out = out[-q.tail_lines :] if q.tail_lines > 0 else []
    return list(out)
