"""Following marked pods' container logs into the LogStore, with the server's timestamps.

One `LogFollower` per (pod, container) keeps a stream open:
`GET /api/v1/namespaces/NS/pods/NAME/log?follow=true&timestamps=true&container=C`.
Each line starts with the kubelet's RFC 3339 timestamp, which becomes the line's time. When the
stream ends or breaks (a drop, a restart, the server's own timeout) the follower comes back with
`sinceTime` = the time of the last line it stored, so nothing written meanwhile is lost; the
lines the server sends again at that boundary (same time, same text, also when it rounds
sinceTime down to the second) are skipped, so nothing is stored twice. Before following again it
asks for `previous=true` since that time: when the container restarted while the stream was
down, the old instance's last lines (the crash) are fetched from there. A new container ID is
noted in the store (a view shows "restarted"). The first time a container is followed, the
previous instance's last lines are fetched too when it already restarted.

`LogCapture` owns the followers: it starts them for marked pods (and pods a `--logs` selector
matches as they appear), wakes them when their pod changes, and stops them when unmarked.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from khronoscope.cluster.connection import Connection
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.core.podspec import pod_containers
from khronoscope.core.source import FetchedLog
from khronoscope.core.timefmt import format_iso, now_ns, parse_k8s_time
from khronoscope.core.types import ObjectKey
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.marks import LogMarks

log = logging.getLogger(__name__)

PodLookup = Callable[[ObjectKey], dict[str, Any] | None]

FOLLOWING = "following"
WAITING = "waiting"
RETRYING = "retrying"
ENDED = "ended"


@dataclass
class LogTuning:
    """Pacing of the followers (seconds). Tests shorten them."""

    initial_tail: int | None = 10_000  # lines fetched when a container is first followed
    backoff_base: float = 0.5
    backoff_max: float = 15.0
    stream_timeout: float = 3600.0  # reopen a stream now and then (sinceTime makes it seamless)
    batch_lines: int = 512


@dataclass
class FollowStatus:
    """What a follower is doing, for views: state, why, lines stored, container instance."""

    state: str = WAITING
    reason: str = ""
    lines: int = 0
    container_id: str = ""
    restarts: int = 0


_second_cache: dict[str, int] = {}


def parse_log_time(stamp: bytes | str) -> int | None:
    """ns since the epoch of an RFC 3339 timestamp as the kubelet writes it
    (`2026-03-14T09:00:05.123456789Z`, fraction of 0-9 digits, `Z` or an offset)."""
    text = stamp.decode("ascii", "replace") if isinstance(stamp, bytes) else stamp
    if len(text) < 20 or text[4] != "-" or text[10] != "T":
        return None
    head = text[:19]
    secs = _second_cache.get(head)
    if secs is None:
        try:
            secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
        if len(_second_cache) > 256:
            _second_cache.clear()
        _second_cache[head] = secs
    rest = text[19:]
    frac = 0
    if rest.startswith("."):
        i = 1
        while i < len(rest) and rest[i].isdigit():
            i += 1
        digits = rest[1:i][:9]
        frac = int(digits.ljust(9, "0")) if digits else 0
        rest = rest[i:]
    if rest in ("Z", "z", "+00:00", "-00:00"):
        offset = 0
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        try:
            offset = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (1 if rest[0] == "+" else -1)
        except ValueError:
            return None
    else:
        return None
    return (secs - offset) * 1_000_000_000 + frac


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The status of one container of a pod (init containers included)."""
    status = pod.get("status") or {}
    for group in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(group) or ():
            if cs.get("name") == name:
                return cs
    return None


def _run_once(pod: dict[str, Any], name: str) -> bool:
    """An init container that is not a native sidecar (restartPolicy: Always): it runs to
    completion once, then never again."""
    for c in (pod.get("spec") or {}).get("initContainers") or ():
        if c.get("name") == name:
            return c.get("restartPolicy") != "Always"
    return False


def _finished(pod: dict[str, Any], name: str) -> bool:
    """The container has terminated for good (the pod will not run it again)."""
    cs = container_status(pod, name)
    if cs is None or "terminated" not in (cs.get("state") or {}):
        return False
    if _run_once(pod, name) and cs["state"]["terminated"].get("exitCode") == 0:
        return True
    phase = (pod.get("status") or {}).get("phase")
    never = (pod.get("spec") or {}).get("restartPolicy") == "Never"
    return phase in ("Succeeded", "Failed") or never


class LogFollower:
    """Keeps one container's log flowing into the store, without gaps or duplicates."""

    def __init__(
        self,
        conn: Connection,
        store: LogStore,
        key: ObjectKey,
        container: str,
        lookup: PodLookup,
        tuning: LogTuning,
        rng: random.Random | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.key = key
        self.container = container
        self.lookup = lookup
        self.tuning = tuning
        self.rng = rng or random.Random()
        self.status = FollowStatus()
        self.path = f"/api/v1/namespaces/{key.namespace}/pods/{key.name}/log"
        self.wake = asyncio.Event()
        self.connects = 0
        # where the stored lines end: the last time and the texts stored at exactly that time
        self.last_t: int | None = store.last_time(key.namespace, key.name, container)
        self.boundary: Counter[str] = Counter()
        if self.last_t is not None:
            for line in store.lines(key.namespace, key.name, container, after=self.last_t - 1):
                self.boundary[line.text] += 1
        self._skip: Counter[str] | None = None
        self._failures = 0
        self._restarts_seen: int | None = None
        self._cid = ""
        self._instance: int | None = None  # the restart count last seen

    # --- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow until cancelled."""
        while True:
            self.wake.clear()
            pod = self.lookup(self.key)
            if pod is None:
                self._set(ENDED if self.last_t is not None else WAITING, "pod not found")
                await self._sleep(None)
                continue
            cs = container_status(pod, self.container)
            if self.container not in pod_containers(pod) and cs is None:
                self._set(ENDED, f"no container {self.container!r} in this pod")
                await self._sleep(None)
                continue
            if cs is None or not _ever_started(cs):
                reason = _waiting_reason(cs) or "container not started yet"
                self._set(WAITING, reason)
                await self._sleep(None)
                continue
            got = 0
            try:
                got = await self._once(pod, cs)
            except ApiError as err:
                if err.not_found:
                    self._set(ENDED, "pod deleted")
                    await self._sleep(None)
                    continue
                if err.status == 400:
                    # "waiting to start", "previous terminated container not found"...
                    self._set(WAITING, err.message or err.summary)
                else:
                    self._set(RETRYING, err.summary)
                self._failures += 1
                await self._sleep(self._backoff())
                continue
            except TransportError as err:
                self._set(RETRYING, str(err))
                self._failures += 1
                await self._sleep(self._backoff())
                continue
            pod = self.lookup(self.key) or pod
            if _finished(pod, self.container):
                self._set(ENDED, "container terminated")
                await self._sleep(None)
                continue
            if got:
                self._failures = 0
            else:
                # the stream ended with nothing new (a container in back-off, a server that
                # closes at once): wait for the pod to change or a growing delay
                self._failures += 1
                await self._sleep(self._backoff())

    async def _sleep(self, seconds: float | None) -> None:
        """Wait for the pod to change (wake) or `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wake.wait()

    def _backoff(self) -> float:
        t = self.tuning
        delay = min(t.backoff_max, t.backoff_base * (2 ** min(max(self._failures - 1, 0), 20)))
        return delay / 2 + self.rng.random() * delay / 2

    def _set(self, state: str, reason: str = "") -> None:
        self.status.state = state
        self.status.reason = reason

    async def _once(self, pod: dict[str, Any], cs: dict[str, Any]) -> int:
        """One round: the previous instance's missed lines, then follow the current one."""
        restarts = int(cs.get("restartCount") or 0)
        cid = str(cs.get("containerID") or "")
        ns, name = self.key.namespace, self.key.name
        got = 0
        if self.last_t is None:
            if restarts or (cs.get("lastState") or {}).get("terminated"):
                got += await self._previous({"tailLines": self.tuning.initial_tail})
                if got and self.last_t is not None:
                    at = max(_started_at(cs) or 0, self.last_t)
                    which = f"restart {restarts}" + (f", {_short(cid)}" if cid else "")
                    self.store.note(ns, name, self.container, at, f"container restarted ({which})")
        else:
            if self._restarts_seen is not None and restarts > self._restarts_seen + 1:
                missed = restarts - self._restarts_seen - 1
                self.store.note(
                    ns,
                    name,
                    self.container,
                    self.last_t,
                    f"the container restarted {missed + 1} times while its log was not "
                    f"followed: the last lines of {missed} instance(s) are missing",
                )
            got += await self._previous({"sinceTime": format_iso(self.last_t)})
        self.saw_instance(cs)
        self._restarts_seen = restarts
        self.status.restarts = restarts
        params: dict[str, str] = {}
        if self.last_t is not None:
            params["sinceTime"] = format_iso(self.last_t)
        elif self.tuning.initial_tail is not None:
            params["tailLines"] = str(self.tuning.initial_tail)
        got += await self._follow(params)
        return got

    def saw_instance(self, cs: dict[str, Any] | None) -> None:
        """The pod's status tells this container's instance: a higher restart count is a
        restart, noted in the store when the new instance started (or now, while it waits
        in back-off). Pod status changes are seen even while the stream is open, so no
        restart goes unnoted."""
        if cs is None:
            return
        restarts = int(cs.get("restartCount") or 0)
        cid = str(cs.get("containerID") or "")
        if self._instance is not None and restarts > self._instance:
            at = _started_at(cs) or time.time_ns()
            if self.last_t is not None:
                at = max(at, self.last_t)
            which = f"restart {restarts}" + (f", {_short(cid)}" if cid and cid != self._cid else "")
            k = self.key
            self.store.note(
                k.namespace, k.name, self.container, at, f"container restarted ({which})"
            )
        if self._instance is None or restarts > self._instance:
            self._instance = restarts
        if cid:
            self._cid = cid
            self.status.container_id = cid

    async def _previous(self, extra: dict[str, Any]) -> int:
        """The previous instance's lines (none when there is no previous instance)."""
        params = {"timestamps": "true", "container": self.container, "previous": "true"}
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        try:
            body = await self.conn.get(self.path, params)
        except ApiError as err:
            if err.status == 400:
                return 0  # no previous instance
            raise
        self._resume()
        return self._ingest_lines(body.split(b"\n"))

    async def _follow(self, extra: dict[str, str]) -> int:
        params = {"follow": "true", "timestamps": "true", "container": self.container, **extra}
        got = 0
        async with self.conn.stream(self.path, params, None, self.tuning.stream_timeout) as body:
            self.connects += 1
            self._set(FOLLOWING)
            self._resume()
            pending = b""
            while True:
                try:
                    chunk = await body.readany()
                except TimeoutError:
                    return got  # the stream's own lifetime: reopen from the last line
                except (ConnectionError, OSError, aiohttp.ClientError) as exc:
                    raise TransportError(f"log stream broken: {type(exc).__name__}") from exc
                if not chunk:
                    # a line without its newline at the end was cut: it comes again next time
                    return got
                if pending:
                    chunk = pending + chunk
                parts = chunk.split(b"\n")
                pending = parts.pop()
                got += self._ingest_lines(parts)

    # --- lines -------------------------------------------------------------------------------

    def _ingest_lines(self, raw_lines: list[bytes]) -> int:
        """Parse `TIMESTAMP TEXT` lines, drop those already stored, store the rest.

        Only the start of a response can repeat stored lines (sinceTime is inclusive, and some
        servers round it down to the second): until the first new line, lines before the last
        stored time are skipped, and at that very time as many of each text as are stored.
        After that, a line stamped earlier than the one before it is a real line (a kubelet
        clock going back) and is kept.
        """
        out: list[tuple[int, str]] = []
        last_t = self.last_t
        boundary = self.boundary
        skip = self._skip
        for raw in raw_lines:
            if not raw:
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            stamp, _, rest = raw.partition(b" ")
            t = parse_log_time(stamp)
            if t is None:
                # no timestamp (should not happen with timestamps=true): keep the whole line
                t = last_t if last_t is not None else time.time_ns()
                rest = raw
            text = rest.decode("utf-8", "replace")
            if skip is not None and last_t is not None:
                if t < last_t:
                    continue
                if t == last_t and skip[text] > 0:
                    skip[text] -= 1
                    continue
            skip = None  # past the boundary: everything from here on is new
            if last_t is None or t > last_t:
                boundary = Counter()
                last_t = t
            if t == last_t:
                boundary[text] += 1
            out.append((t, text))
        self.boundary = boundary
        self.last_t = last_t
        self._skip = skip
        if out:
            ns, name = self.key.namespace, self.key.name
            self.store.extend(ns, name, self.container, out)
            self.status.lines += len(out)
        return len(out)

    def _resume(self) -> None:
        """A new response starts: it may repeat the stored lines at the boundary."""
        self._skip = Counter(self.boundary) if self.last_t is not None else None


async def fetch_log(
    conn: Connection, key: ObjectKey, container: str, previous: bool, tail: int
) -> FetchedLog:
    """One container instance's last `tail` lines, now (`kubectl logs [--previous]`), with the
    kubelet's timestamps; a refusal (no previous instance, not started) is said in `error`."""
    path = f"/api/v1/namespaces/{key.namespace}/pods/{key.name}/log"
    params = {"timestamps": "true", "container": container, "tailLines": str(tail)}
    if previous:
        params["previous"] = "true"
    fetched_at = now_ns()
    try:
        body = await conn.get(path, params)
    except ApiError as err:
        return FetchedLog(container, previous, fetched_at, error=err.summary)
    except TransportError as err:
        return FetchedLog(container, previous, fetched_at, error=str(err))
    lines: list[tuple[int, str]] = []
    for raw in body.split(b"\n"):
        if not raw:
            continue
        stamp, _, text = raw.partition(b" ")
        t = parse_log_time(stamp)
        decoded = (text if t is not None else raw).decode("utf-8", "replace")
        lines.append((t if t is not None else fetched_at, decoded))
    return FetchedLog(container, previous, fetched_at, tuple(lines))


def _ever_started(cs: dict[str, Any]) -> bool:
    state = cs.get("state") or {}
    if "running" in state or "terminated" in state:
        return True
    return bool(cs.get("restartCount")) or bool((cs.get("lastState") or {}).get("terminated"))


def _waiting_reason(cs: dict[str, Any] | None) -> str:
    if cs is None:
        return ""
    waiting = (cs.get("state") or {}).get("waiting") or {}
    return str(waiting.get("reason") or "")


def _started_at(cs: dict[str, Any]) -> int | None:
    running = (cs.get("state") or {}).get("running") or {}
    return parse_k8s_time(running.get("startedAt"))


def _short(cid: str) -> str:
    runtime, _, ident = cid.partition("://")
    return f"{runtime}://{ident[:12]}" if ident else cid[:20]


class LogCapture:
    """The followers of every marked pod's containers."""

    def __init__(
        self,
        conn: Connection,
        store: LogStore,
        marks: LogMarks,
        lookup: PodLookup,
        tuning: LogTuning | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.marks = marks
        self.lookup = lookup
        self.tuning = tuning or LogTuning()
        self.on_change = on_change
        self.followers: dict[tuple[ObjectKey, str], LogFollower] = {}
        self._tasks: dict[tuple[ObjectKey, str], asyncio.Task[None]] = {}
        self._rng = random.Random()

    def sync(self, key: ObjectKey) -> None:
        """Start or stop the followers of one pod to match its marks."""
        pod = self.lookup(key)
        wanted: set[str] = set()
        if self.marks.is_marked(key):
            chosen = self.marks.containers(key)
            names = pod_containers(pod) if pod is not None else []
            wanted = set(names) if chosen is None else set(chosen)
        for fk in [fk for fk in self._tasks if fk[0] == key and fk[1] not in wanted]:
            self._stop(fk)
        for name in wanted:
            fk = (key, name)
            if fk not in self._tasks:
                f = LogFollower(
                    self.conn,
                    self.store,
                    key,
                    name,
                    self.lookup,
                    self.tuning,
                    random.Random(self._rng.random()),
                )
                self.followers[fk] = f
                self._tasks[fk] = asyncio.create_task(
                    self._supervise(f), name=f"logs {key.namespace}/{key.name}/{name}"
                )
            else:
                self.followers[fk].wake.set()
        if self.on_change is not None:
            self.on_change()

    def pod_changed(self, key: ObjectKey, obj: dict[str, Any] | None) -> None:
        """A pod was stored: selectors may mark it, its followers re-check its state."""
        if obj is not None and self.marks.selectors and not self.marks.is_marked(key):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if self.marks.apply_selectors(key, labels):
                # started on the next loop turn: the change is stored by then
                asyncio.get_running_loop().call_soon(self.sync, key)
                return
        if self.marks.is_marked(key):
            if not any(fk[0] == key for fk in self._tasks) or obj is None:
                asyncio.get_running_loop().call_soon(self.sync, key)
            for fk, f in self.followers.items():
                if fk[0] == key:
                    if obj is not None:
                        f.saw_instance(container_status(obj, fk[1]))
                    f.wake.set()

    def status(self, key: ObjectKey) -> dict[str, FollowStatus]:
        """Each followed container's status."""
        return {fk[1]: f.status for fk, f in self.followers.items() if fk[0] == key}

    async def _supervise(self, f: LogFollower) -> None:
        """Run a follower forever: a bug must not silently stop a capture."""
        failures = 0
        while True:
            try:
                await f.run()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failures += 1
                log.exception("log follower %s/%s failed", f.key, f.container)
                f._set(RETRYING, f"internal error: {type(err).__name__}: {err}")
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))

    def _stop(self, fk: tuple[ObjectKey, str]) -> None:
        task = self._tasks.pop(fk, None)
        if task is not None:
            task.cancel()
        self.followers.pop(fk, None)

    async def close(self) -> None:
        """Stop every follower."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        self._tasks.clear()
