"""A live cluster as a HistorySource: owns the watchers, stamps every change, feeds the TemporalMap.

Every change goes through `ClusterSession.record`: stamped with the receive time in ns (strictly
increasing for the whole session, so no two changes share a stamp), Secret values replaced by
fingerprints unless the user asked to keep them, stored in `tmap`, then handed to the registered
sinks (a recorder persists the stream that way). Views are told that something changed through
`changed` (an asyncio.Event they clear and coalesce) or `add_listener` callbacks, once per batch,
never once per change.

What could not be watched is said: an outage is a gap (one still going on when the session
closes ends at `stopped_at`), so is a stretch in which the process itself did not run (stopped,
machine asleep: every change then is stamped late), and an account that may list namespaced
types only in some namespaces is told that `-n` may help (`scope_hint`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from khronoscope.cluster.connection import Connection
from khronoscope.cluster.discovery import APISERVICE_TYPE, CRD_TYPE, Discovery, discover, select
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.cluster.kubeconfig import ClusterCredentials, list_contexts, load_credentials
from khronoscope.cluster.logs import FollowStatus, LogCapture, LogTuning, fetch_log
from khronoscope.cluster.metrics import MetricsPoller, MetricsTuning
from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.redact import SECRETS_TYPE, SecretRedactor
from khronoscope.cluster.remembered import backfill as backfill_remembered
from khronoscope.cluster.scopehint import namespace_hint
from khronoscope.cluster.stall import StallDetector
from khronoscope.cluster.watcher import Watcher, WatchTuning
from khronoscope.core.bookmarks import BookmarkStore, StoredBookmarks
from khronoscope.core.provenance import ProvenanceStore
from khronoscope.core.source import (
    ContextInfo,
    FetchedLog,
    Gap,
    SourceCapability,
    SourceInfo,
    TypeState,
    TypeStatus,
)
from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType
from khronoscope.errors import KhronoscopeError
from khronoscope.telemetry.logstore import LogStore
from khronoscope.telemetry.marks import LogMarks, parse_log_selector
from khronoscope.telemetry.metricstore import MetricStore
from khronoscope.temporal import codec
from khronoscope.temporal.chain import RowFn
from khronoscope.temporal.map import TemporalMap

_LATEST = 2**62  # a time after every change: the newest version

# a change to one of these may grant (or revoke) access to a type that was forbidden
RBAC_TYPES = frozenset(
    f"{plural}.rbac.authorization.k8s.io"
    for plural in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
)

log = logging.getLogger(__name__)

# which state of a type's scopes wins when a type is watched in several namespaces
_SEVERITY = {
    TypeState.LIVE: 0,
    TypeState.SYNCING: 1,
    TypeState.RETRYING: 2,
    TypeState.GONE: 3,
    TypeState.FORBIDDEN: 4,
}


class ClusterSession(StoredBookmarks):
    """Everything a live view needs from a cluster: `tmap`, per-type status, gaps, bookmarks.

    Use `await session.start()` (raises KhronoscopeError with one line for a bad kubeconfig,
    an unknown context, an unreachable server, rejected credentials or an unknown type), then
    `await session.wait_synced()`, and `await session.close()` at the end. To record from the
    first change: `await session.connect()`, attach the recorder (sinks), then `session.run()`.
    """

    is_live = True

    def __init__(
        self,
        options: ClusterOptions | None = None,
        row_fn: RowFn | None = None,
        tuning: WatchTuning | None = None,
        rescan_interval: float = 300.0,
        secret_salt: bytes | None = None,
        credentials: ClusterCredentials | None = None,
        log_tuning: LogTuning | None = None,
        logs: LogStore | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.options = options or ClusterOptions()
        self._clock = clock  # wall-clock ns; a bench replays a stream on its own clock
        self.tmap = TemporalMap(row_fn=row_fn)
        # pod logs and metrics: their own stores, not object versions (see khronoscope.telemetry)
        self.logs = logs if logs is not None else LogStore()
        self.metrics = MetricStore()
        self.log_marks = LogMarks(parse_log_selector(v) for v in self.options.logs)
        self.capabilities = (
            SourceCapability.CAPTURES_LOGS
            | SourceCapability.LISTS_CONTEXTS
            | SourceCapability.FETCHES_LOGS
        )
        self.log_tuning = log_tuning or LogTuning()
        self.metrics_tuning = MetricsTuning(interval=self.options.metrics_interval)
        self._capture: LogCapture | None = None
        self._poller: asyncio.Task[None] | None = None
        # who made what, and what the cluster remembered of before (cluster/remembered.py)
        self.provenance = ProvenanceStore()
        self._remembered: asyncio.Task[int] | None = None
        self.metrics_poller: MetricsPoller | None = None
        self.info = SourceInfo(cluster="", context="")
        self.tuning = tuning or WatchTuning()
        self.rescan_interval = rescan_interval
        self.conn: Connection | None = None
        self.discovery_errors: dict[str, str] = {}
        self.change_count = 0
        self.changed = asyncio.Event()
        self.rescans = 0
        self._credentials = credentials
        self._redact = None if self.options.keep_secret_values else SecretRedactor(secret_salt)
        self._types: dict[str, ResourceType] = {}
        self._watchers: dict[str, Watcher] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retired: set[str] = set()
        self._gaps: list[Gap] = []
        self.bookmark_store = BookmarkStore()
        self._sinks: list[Callable[[Change], None]] = []
        self._gap_listeners: list[Callable[[Gap], None]] = []
        self._listeners: list[Callable[[], None]] = []
        self._last_t = 0
        # types whose changes (once listed) need more than storing: CRDs, API services, RBAC
        self._change_hooks: dict[
            str, Callable[[ObjectKey, ChangeKind, dict[str, Any] | None], None]
        ] = {}
        self._crd_expect: dict[str, bool] = {}
        self._notify_pending = False
        self._rescan_wanted = asyncio.Event()
        self._rescanner: asyncio.Task[None] | None = None
        self._rng = random.Random()
        self._stall: StallDetector | None = None
        self._stall_task: asyncio.Task[None] | None = None
        self._hint_task: asyncio.Task[None] | None = None
        self.scope_hint = ""
        self.stopped_at: int | None = None

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, discover and start one watcher per type (and namespace)."""
        await self.connect()
        self.run()

    async def connect(self) -> None:
        """Load credentials, reach the server, discover and select the types; nothing is
        watched yet. `info` and `resource_types()` are known after it, so a recorder can be
        created and attached before `run()` delivers the first change."""
        try:
            await self._connect()
        except BaseException:
            # also on Ctrl-C: an unclosed aiohttp session would complain on the way out
            if self.conn is not None:
                await self.conn.close()
                self.conn = None
            raise

    async def _connect(self) -> None:
        opts = self.options
        creds = self._credentials or await load_credentials(opts.kubeconfig, opts.context)
        self.conn = Connection(
            creds,
            connect_timeout=self.tuning.connect_timeout,
            request_timeout=self.tuning.request_timeout,
            request_pool=self.tuning.request_pool,
            probe_interval=self.tuning.probe_interval,
        )
        where = f"context '{creds.context}' ({creds.host})"
        try:
            version = await self.conn.get_json("/version")
            disc = await discover(self.conn)
        except TransportError as err:
            raise KhronoscopeError(f"cannot reach the API server of {where}: {err}") from err
        except ApiError as err:
            if err.unauthorized:
                raise KhronoscopeError(
                    f"the API server of {where} rejected the credentials (401 Unauthorized); "
                    "they may have expired: log in again or refresh the kubeconfig"
                ) from err
            raise KhronoscopeError(f"cannot discover the API of {where}: {err.summary}") from err
        types = select(disc, opts.include, opts.exclude, strict=True)
        self.info = SourceInfo(
            cluster=creds.cluster,
            context=creds.context,
            server_version=str(version.get("gitVersion", "")),
            extra={"server": creds.host, "kubeconfig": creds.source},
        )
        self.discovery_errors = dict(disc.errors)
        self._types = {t.name: t for t in types}

    async def fetch_logs(
        self, key: ObjectKey, container: str, previous: bool, tail: int
    ) -> FetchedLog:
        """One container instance's last lines, now (LogFetchSource); not stored."""
        if self.conn is None:
            return FetchedLog(container, previous, 0, error="not connected")
        return await fetch_log(self.conn, key, container, previous, tail)

    def contexts(self) -> list[ContextInfo]:
        """The kubeconfig's contexts, the one this session uses marked (ContextSource)."""
        return list_contexts(self.options.kubeconfig, self.info.context)

    def run(self) -> None:
        """Start one watcher per type (and namespace) and the CRD rescanner (after connect)."""
        if self.conn is None:
            raise RuntimeError("connect() first")
        if self._rescanner is not None:
            return
        for rtype in list(self._types.values()):
            self._add_type(rtype)
        self._rescanner = asyncio.create_task(self._rescan_loop(), name="khronoscope rescan")
        self._stall = StallDetector(self.add_gap, self.tuning.stall_after)
        self._stall_task = asyncio.create_task(self._stall.run(), name="khronoscope stalls")
        if not self.options.namespaces:
            self._hint_task = asyncio.create_task(self._find_hint(), name="khronoscope hint")
        self._capture = LogCapture(
            self.conn, self.logs, self.log_marks, self._pod_now, self.log_tuning, self.notify
        )
        for key in self.log_marks.marked():
            self._capture.sync(key)
        self.metrics_poller = poller = MetricsPoller(
            self.conn,
            self.metrics,
            self.options.namespaces,
            self.options.exclude_namespaces,
            self.metrics_tuning,
            self.notify,
        )
        self._poller = asyncio.create_task(poller.run(), name="khronoscope metrics")
        self._remembered = asyncio.create_task(
            backfill_remembered(self, time.time_ns()), name="khronoscope remembered"
        )

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until every type has been listed once (or refused); False on timeout."""
        waits = [w.synced.wait() for w in list(self._watchers.values())]
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            return False
        return True

    @property
    def synced(self) -> bool:
        """True once every type has been listed once (or refused)."""
        return all(w.synced.is_set() for w in self._watchers.values())

    async def close(self) -> None:
        """Stop every task and close the connections. Outages still going on become gaps
        ending at `stopped_at` (a recorder attached writes them before its file closes)."""
        if self.stopped_at is None:
            self.stopped_at = self.now()
        tasks = list(self._tasks.values())
        background = (self._rescanner, self._poller, self._stall_task, self._hint_task)
        for extra in (*background, self._remembered):
            if extra is not None:
                tasks.append(extra)
        if self._capture is not None:
            await self._capture.close()
        for task in tasks:
            task.cancel()
        if tasks:
            # bounded: closing must never hang the application on a stuck task
            await asyncio.wait(tasks, timeout=5.0)
        self._tasks.clear()
        for w in list(self._watchers.values()):
            w.stop(self.stopped_at)
        if self._stall is not None:
            self._stall.finish(self.stopped_at)
        if self.conn is not None:
            await self.conn.close()

    async def __aenter__(self) -> ClusterSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- watchers ----------------------------------------------------------------------------

    def _scopes(self, rtype: ResourceType) -> list[tuple[str | None, str | None]]:
        """(namespace, field selector) pairs to watch a type with."""
        opts = self.options
        if not rtype.namespaced:
            return [(None, None)]
        if opts.namespaces:
            return [(ns, None) for ns in opts.namespaces if ns not in opts.exclude_namespaces]
        if opts.exclude_namespaces:
            sel = ",".join(f"metadata.namespace!={ns}" for ns in opts.exclude_namespaces)
            return [(None, sel)]
        return [(None, None)]

    def _add_type(
        self, rtype: ResourceType, known: dict[str, dict[ObjectKey, str]] | None = None
    ) -> None:
        assert self.conn is not None
        self._types[rtype.name] = rtype
        for namespace, selector in self._scopes(rtype):
            w = Watcher(
                self.conn,
                rtype,
                self,
                namespace=namespace,
                field_selector=selector,
                tuning=self.tuning,
                rng=random.Random(self._rng.random()),
                on_initial=self._on_initial,
            )
            if known and w.scope in known:
                w.known = known[w.scope]  # a version change: reconcile, do not re-add
            self._watchers[w.scope] = w
            self._tasks[w.scope] = asyncio.create_task(self._supervise(w), name=f"watch {w.scope}")
        self._status_changed()

    async def _remove_type(self, name: str, reason: str | None) -> dict[str, dict[ObjectKey, str]]:
        """Stop a type's watchers. With a reason the type is retired: its objects are recorded
        as deleted and its status stays visible as gone. Without, the watchers are dropped and
        what they stored is returned (to hand to the watchers of a new version of the type)."""
        known: dict[str, dict[ObjectKey, str]] = {}
        for w in self._scoped(name):
            task = self._tasks.pop(w.scope, None)
            if task is not None:
                task.cancel()
                await asyncio.wait([task], timeout=5.0)
            if reason is not None:
                w.retire(reason)
            else:
                known[w.scope] = w.known
                del self._watchers[w.scope]
        if reason is not None:
            self._retired.add(name)
        else:
            self._retired.discard(name)
            self._types.pop(name, None)
        self._status_changed()
        return known

    async def _supervise(self, w: Watcher) -> None:
        """Run a watcher forever: a bug in one event must not freeze the type silently."""
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await w.run()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                failures = 1 if time.monotonic() - started > 300 else failures + 1
                log.exception("watcher %s failed", w.scope)
                w.failed(f"internal error: {type(err).__name__}: {err}")
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))

    async def _find_hint(self) -> None:
        """Once every type was listed (or refused): does `-n` look like it would help?"""
        await self.wait_synced()
        assert self.conn is not None
        cluster_wide = [
            w for w in list(self._watchers.values()) if w.rtype.namespaced and w.namespace is None
        ]
        forbidden = [w.rtype for w in cluster_wide if w.state is TypeState.FORBIDDEN]
        hint = await namespace_hint(
            self.conn, forbidden, len(cluster_wide), self.conn.credentials.namespace
        )
        if hint:
            self.scope_hint = hint
            self.notify()

    def _on_initial(self, w: Watcher) -> None:
        # hooks start once a type is listed: its first list is what exists, not what changed
        name = w.rtype.name
        if name in (CRD_TYPE, APISERVICE_TYPE):
            self._change_hooks[name] = self._crd_changed
        elif name in RBAC_TYPES and all(s.ever_synced for s in self._scoped(name)):
            self._change_hooks[name] = self._rbac_changed

    def _rbac_changed(self, key: ObjectKey, kind: ChangeKind, obj: dict[str, Any] | None) -> None:
        """A role or binding changed: forbidden types ask again (a grant takes effect at once,
        as kubectl users expect, not after the slow recheck)."""
        for w in self._watchers.values():
            if w.state is not TypeState.LIVE:
                w.rbac_changed()

    # --- the funnel (WatchSink) --------------------------------------------------------------

    def now(self) -> int:
        """Wall-clock ns (for status times; change stamps come from `record`)."""
        return self._clock()

    def record(self, key: ObjectKey, kind: ChangeKind, obj: dict[str, Any] | None) -> int:
        """Stamp and store one change; returns its stamp, or 0 if it changed nothing."""
        t = self._clock()
        if t <= self._last_t:
            t = self._last_t + 1  # strictly increasing: no two changes share a stamp
        self._last_t = t
        if obj is not None and self._redact is not None and key.type == SECRETS_TYPE:
            obj = self._redact(obj)
        raw = None
        if kind is ChangeKind.DELETED:
            if not self.tmap.delete(key, t):
                return 0
        else:
            # packed once: the map keeps these bytes as the newest version, and so does a
            # recording writer (Change.raw), so they are held once however many keep them
            raw = codec.pack(obj or {})
            if not self.tmap.put_raw(key, t, raw):
                return 0
        self.change_count += 1
        if self._sinks:
            change = Change(t, key, kind, obj, raw)
            for sink in self._sinks:
                try:
                    sink(change)
                except Exception:
                    log.exception("change sink %r failed", sink)
        hook = self._change_hooks.get(key.type)
        if hook is not None:
            hook(key, kind, obj)
        if self._capture is not None and key.type == "pods":
            self._capture.pod_changed(key, None if kind is ChangeKind.DELETED else obj)
        return t

    def notify(self) -> None:
        """Wake the views: `changed` is set, and the listeners are called once per turn of the
        event loop however many batches (of however many watchers) arrived in it."""
        self.changed.set()
        if not self._listeners or self._notify_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a direct call): no batching to do
            self._fire()
            return
        self._notify_pending = True
        loop.call_soon(self._fire)

    def _fire(self) -> None:
        self._notify_pending = False
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("listener %r failed", listener)

    def scope_state(self, watcher: Watcher) -> None:
        """A watcher changed state: tell the views."""
        self._status_changed()

    def add_gap(self, gap: Gap) -> None:
        """Record an interval in which changes of a type may have been missed."""
        self._gaps.append(gap)
        self._gaps.sort(key=lambda g: (g.start, g.end))
        for listener in self._gap_listeners:
            try:
                listener(gap)
            except Exception:
                log.exception("gap listener %r failed", listener)
        self.notify()

    def type_missing(self, watcher: Watcher) -> None:
        """A type answered 404: check discovery soon."""
        self._rescan_wanted.set()

    # --- registration ------------------------------------------------------------------------

    def add_sink(self, sink: Callable[[Change], None]) -> None:
        """Call `sink(change)` for every change stored from now on (a recorder persists them)."""
        self._sinks.append(sink)

    def add_gap_listener(self, listener: Callable[[Gap], None]) -> None:
        """Call `listener(gap)` whenever a gap closes."""
        self._gap_listeners.append(listener)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after each batch of changes or status change (coalesce in views)."""
        self._listeners.append(listener)

    # --- logs --------------------------------------------------------------------------------

    def mark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Capture a pod's logs (every container, or one more container) from now on."""
        if key.type != "pods":
            raise KhronoscopeError(f"only pods have logs, not {key.type}")
        if self.log_marks.mark(key, container) and self._capture is not None:
            self._capture.sync(key)
        self.notify()

    def unmark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Stop capturing a pod's logs (or one container's); what was stored stays."""
        if self.log_marks.unmark(key, container) and self._capture is not None:
            self._capture.sync(key)
        self.notify()

    def log_status(self, key: ObjectKey) -> dict[str, FollowStatus]:
        """What each followed container of a pod is doing (following, waiting, ended...)."""
        return self._capture.status(key) if self._capture is not None else {}

    def _pod_now(self, key: ObjectKey) -> dict[str, Any] | None:
        return self.tmap.get(key, _LATEST)

    # --- memory ------------------------------------------------------------------------------

    def keep_window(self, window: int) -> int:
        """Forget history and metrics samples older than `window` ns before now (a recording
        keeps them); moments in the window read as before. Returns how many versions went."""
        cut = self.now() - window
        self.metrics.trim_before(cut)
        return self.tmap.trim_before(cut)

    # --- HistorySource -----------------------------------------------------------------------

    def resource_types(self) -> dict[str, ResourceType]:
        """Every watched type by name (forbidden and gone ones included)."""
        return dict(self._types)

    def type_status(self) -> dict[str, TypeStatus]:
        """The watch status of each type by name, with its current object and change counts."""
        by_type: dict[str, list[Watcher]] = {}
        for w in self._watchers.values():
            by_type.setdefault(w.rtype.name, []).append(w)
        return {name: self._status_of(scopes) for name, scopes in by_type.items()}

    def gaps(self) -> list[Gap]:
        """Closed gaps, then outages still going on (ending now), oldest first."""
        out = list(self._gaps)
        now = self.now()
        for w in self._watchers.values():
            gap = w.open_gap(now)
            if gap is not None:
                out.append(gap)
        out.sort(key=lambda g: (g.start, g.end))
        return out

    # --- status ------------------------------------------------------------------------------

    def _status_changed(self) -> None:
        self.notify()

    def _status_of(self, scopes: list[Watcher]) -> TypeStatus:
        worst = max(scopes, key=lambda w: (_SEVERITY[w.state], -w.since))
        error = worst.error
        if worst.namespace and worst.state is not TypeState.LIVE and error:
            error = f"namespace {worst.namespace}: {error}"
        return TypeStatus(
            state=worst.state,
            since=worst.since,
            error=error,
            objects=sum(len(w.known) for w in scopes),
            changes=sum(w.changes for w in scopes),
        )

    # --- CRDs come and go --------------------------------------------------------------------

    def _crd_changed(self, key: ObjectKey, kind: ChangeKind, obj: dict[str, Any] | None) -> None:
        if key.type == CRD_TYPE:
            # a CRD is named <plural>.<group>, which is also the name of the type it defines
            established = kind is not ChangeKind.DELETED and obj is not None
            self._crd_expect[key.name] = established and _crd_established(obj or {})
        self._rescan_wanted.set()

    async def _rescan_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rescan_interval):
                    await self._rescan_wanted.wait()
            self._rescan_wanted.clear()
            await asyncio.sleep(0.2)  # let a burst of CRD changes settle into one rescan
            for attempt in range(8):
                if await self.rescan():
                    break
                # a new CRD appears in discovery a moment after it is Established
                await asyncio.sleep(min(5.0, 0.25 * 2**attempt))

    async def rescan(self) -> bool:
        """Rediscover; start watchers for new types, retire removed ones. True when discovery
        agrees with the CRDs seen (False: try again shortly)."""
        assert self.conn is not None
        self.rescans += 1
        try:
            disc = await discover(self.conn)
        except (ApiError, TransportError) as err:
            self.discovery_errors["/"] = str(err)
            return False
        self.discovery_errors = dict(disc.errors)
        opts = self.options
        wanted = {t.name: t for t in select(disc, opts.include, opts.exclude, strict=False)}
        await self._apply(disc, wanted)
        served = disc.by_name()
        return all((name in served) == present for name, present in self._crd_expect.items())

    async def _apply(self, disc: Discovery, wanted: dict[str, ResourceType]) -> None:
        for name, current in list(self._types.items()):
            new = wanted.get(name)
            if new is None:
                if current.group in disc.failed_groups or name in self._retired:
                    continue  # an aggregated API that is down keeps its types (unknown, not gone)
                await self._remove_type(name, "no longer served by the API server")
            elif new != current or name in self._retired:
                # a new preferred version (or a CRD created again): keep the keys, reconcile
                known = await self._remove_type(name, None)
                self._add_type(new, known)
        for name, rtype in wanted.items():
            if name not in self._types:
                self._add_type(rtype)

    def watchers(self, type: str | None = None) -> list[Watcher]:
        """The watchers (of one type), for diagnostics: list/watch counts, resourceVersion."""
        return [w for w in self._watchers.values() if type is None or w.rtype.name == type]

    def _scoped(self, name: str) -> list[Watcher]:
        return [w for w in self._watchers.values() if w.rtype.name == name]


def _crd_established(obj: dict[str, Any]) -> bool:
    """A CRD that is Established and not being deleted is (or will be) in discovery."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Established":
            return cond.get("status") == "True"
    return False
