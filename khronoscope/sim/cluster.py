"""`SimCluster`: the simulated Kubernetes cluster (server + store + scenario) as one object.

    sim = SimCluster(scenario="default", seed=1, speed=1.0)
    await sim.start()            # serves on 127.0.0.1:<free port>, writes a kubeconfig
    sim.url, sim.kubeconfig_path, sim.token
    await sim.advance(120)       # play the next 120 scenario seconds at once
    sim.faults.fail_next(2, status=503); sim.faults.drop_watches(); sim.faults.compact()
    path = sim.add_user("viewer", forbidden={"secrets"})   # a kubeconfig whose token gets 403s
    sim.grant("viewer")                                    # same token, every right again
    await sim.restart()          # same port, same state
    sim.store.objects("pods", "shop")                      # ground truth for assertions
    await sim.close()

`speed` compresses scenario time (10: ten scenario seconds per wall second). With
`autorun=False` the scenario only moves when `advance()` is called (a manual clock). Object
timestamps are the wall-clock time at which each op is applied. `SimClusterThread`
(khronoscope.sim.thread) runs one in a background thread for synchronous code.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import errno
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from khronoscope.sim.api import ApiServer
from khronoscope.sim.auth import User, Users
from khronoscope.sim.faults import Faults
from khronoscope.sim.kubeconfig import write_kubeconfig
from khronoscope.sim.logs import LogStore, rfc3339_nano
from khronoscope.sim.metrics import MetricsStore, Usage
from khronoscope.sim.registry import METRICS_GROUP, Registry
from khronoscope.sim.scenarios import (
    Create,
    Delete,
    Log,
    Op,
    Patch,
    PodUsage,
    RestartLog,
    Scenario,
    get_scenario,
)
from khronoscope.sim.status import ApiError
from khronoscope.sim.store import DELETED, Store, WatchEvent, WriteContext, k8s_time
from khronoscope.sim.tls import serving_cert

log = logging.getLogger("khronoscope.sim")
CRD_TYPE = "customresourcedefinitions.apiextensions.k8s.io"
_AT = re.compile(rb'"<at:([0-9.]+)>"')
APPLY_SLICE = 2000  # ops applied before yielding to the event loop (keeps the server responsive)


class SimError(Exception):
    """A simulated cluster that cannot start (port in use, bad scenario...): one-line message."""


class SimCluster:
    """A simulated cluster: the store, the HTTP API in front of it and the scenario driving it."""

    def __init__(
        self,
        scenario: str | Scenario = "default",
        *,
        seed: int = 1,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        autorun: bool = True,
        workdir: str | Path | None = None,
        retain_events: int = 10_000,
        bookmark_interval: float = 60.0,
        metrics: bool = True,
        scenario_options: dict[str, Any] | None = None,
        context: str = "khronoscope-sim",
        tls: bool = True,
    ) -> None:
        if speed <= 0:
            raise SimError("speed must be > 0")
        if isinstance(scenario, Scenario):
            self.scenario = scenario
        else:
            try:
                self.scenario = get_scenario(scenario, seed=seed, **(scenario_options or {}))
            except (ValueError, TypeError) as err:
                raise SimError(str(err)) from None
        self.seed = seed
        self.speed = float(speed)
        self.host = host
        self.port = port
        self.autorun = autorun
        self.context = context
        # kubectl sends tokens only over HTTPS; plain HTTP is there for clients that do not care
        self.tls = serving_cert(host) if tls else None
        self.registry = Registry()
        if not metrics:
            self.registry.remove_group(METRICS_GROUP)
        self.store = Store(self.registry, retain_events=retain_events, seed=seed)
        self.logs = LogStore()
        self.metrics = MetricsStore()
        self.faults = Faults(self.store.compact)
        self.users = Users()
        self.admin: User = self.users.add("admin")
        self.api = ApiServer(
            self.store,
            self.logs,
            self.metrics,
            self.faults,
            self.users,
            server_address=lambda: f"{self.host}:{self.port}",
            bookmark_interval=bookmark_interval,
        )
        self.store.listeners.append(self._on_event)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else None
        self.kubeconfig_path: Path | None = None
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._ops: Iterator[Op] = self.scenario.ops()
        self._next: Op | None = None
        self._exhausted = False
        self._offset_base = 0.0  # scenario offset when the clock last (re)started
        self._clock_base: float | None = None  # loop time at that moment (None: clock stopped)
        self._checkpoints_at: list[float] = []
        self._checkpoints_ns: list[int] = []
        self.applied_ops = 0
        self.op_errors = 0
        self.serving = False

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (`http://127.0.0.1:PORT`)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """PEM of the CA that signed the server's certificate (b"" without TLS)."""
        return self.tls.ca_pem if self.tls else b""

    @property
    def token(self) -> str:
        """The admin bearer token."""
        return self.admin.token

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            if err.errno == errno.EADDRINUSE:
                raise SimError(f"port {self.port} on {self.host} is already in use") from None
            raise SimError(f"cannot listen on {self.host}:{self.port}: {err.strerror}") from None
        sock.listen(256)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def start(self) -> SimCluster:
        """Serve (again) and, the first time, write the kubeconfig and start the scenario clock."""
        if self.serving:
            return self
        sock = self._bind()
        runner = web.AppRunner(
            self.api.app(), handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await runner.setup()
        site = web.SockSite(runner, sock, ssl_context=self.tls.ssl_context() if self.tls else None)
        await site.start()
        self._runner = runner
        self.serving = True
        if self.workdir is None:
            base = os.environ.get("XDG_RUNTIME_DIR")
            if not base or not os.access(base, os.W_OK):
                base = None
            self.workdir = Path(tempfile.mkdtemp(prefix="khronoscope-sim-", dir=base))
        os.chmod(self.workdir, 0o700)
        self.kubeconfig_path = write_kubeconfig(
            self.workdir / "kubeconfig",
            self.url,
            self.token,
            "admin",
            self.context,
            ca_pem=self.ca_pem,
        )
        for user in self.users:
            if user.kubeconfig_path:
                self._write_user_kubeconfig(user)
        if self._task is None:
            self._wake = asyncio.Event()
            if self.autorun:
                self._clock_base = asyncio.get_running_loop().time()
            self._task = asyncio.create_task(self._run(), name="khronoscope-sim-scenario")
            # the first batch (t=0) is applied before start() returns: clients never see nothing
            await self._apply_until(0.0)
        return self

    async def stop(self) -> None:
        """Stop serving (connections are cut); the state and the scenario clock go on."""
        if not self.serving:
            return
        self.serving = False
        self.faults.drop_watches(graceful=False)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def restart(self, downtime: float = 0.0) -> None:
        """Stop, wait `downtime` seconds, serve again on the same port with the same state."""
        await self.stop()
        if downtime:
            await asyncio.sleep(downtime)
        await self.start()

    async def close(self) -> None:
        """Stop serving, stop the scenario, remove the kubeconfig files."""
        await self.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> SimCluster:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- users ---------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        allowed: set[str] | None = None,
        forbidden: set[str] | frozenset[str] = frozenset(),
        namespaces: set[str] | None = None,
        context_namespace: str = "",
    ) -> Path:
        """A token limited to `allowed` types and/or denied `forbidden` ones (and/or allowed
        only in `namespaces`); its kubeconfig (whose context names `context_namespace`)."""
        user = self.users.add(
            name,
            allowed=allowed,
            forbidden=forbidden,
            namespaces=namespaces,
            context_namespace=context_namespace,
        )
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="khronoscope-sim-"))
        user.kubeconfig_path = str(self.workdir / f"kubeconfig-{name}")
        self._write_user_kubeconfig(user)
        return Path(user.kubeconfig_path)

    def grant(
        self,
        name: str,
        *,
        allowed: set[str] | None = None,
        forbidden: set[str] | frozenset[str] = frozenset(),
        namespaces: set[str] | None = None,
    ) -> None:
        """Change what user `name` may do, keeping its token (as a new RoleBinding would);
        the next request sees it."""
        user = self.users.by_name(name)
        if user is None:
            raise KeyError(name)
        user.allowed = frozenset(allowed) if allowed is not None else None
        user.forbidden = frozenset(forbidden)
        user.namespaces = frozenset(namespaces) if namespaces is not None else None

    def _write_user_kubeconfig(self, user: User) -> None:
        write_kubeconfig(
            Path(user.kubeconfig_path),
            self.url,
            user.token,
            user.name,
            f"{self.context}-{user.name}",
            namespace=user.context_namespace,
            ca_pem=self.ca_pem,
        )

    # ---- the scenario clock ---------------------------------------------------------------

    @property
    def offset(self) -> float:
        """Scenario seconds elapsed (what has been or is about to be applied)."""
        if self._clock_base is None:
            return self._offset_base
        loop = asyncio.get_running_loop()
        return self._offset_base + (loop.time() - self._clock_base) * self.speed

    def pause(self) -> None:
        """Stop the scenario clock (advance() still moves it)."""
        if self._clock_base is not None:
            self._offset_base = self.offset
            self._clock_base = None

    def resume(self) -> None:
        """Restart the scenario clock at wall-clock pace / speed."""
        if self._clock_base is None:
            self._clock_base = asyncio.get_running_loop().time()
            if self._wake:
                self._wake.set()

    async def advance(self, seconds: float) -> int:
        """Jump the scenario `seconds` ahead, applying every op due on the way; returns how many."""
        self._offset_base += seconds
        n = await self._apply_until(self.offset)
        if self._wake:
            self._wake.set()
        return n

    async def advance_to(self, offset: float) -> int:
        """Jump to scenario offset `offset` (no-op if already past it)."""
        return await self.advance(max(0.0, offset - self.offset))

    def _peek(self) -> Op | None:
        if self._next is None and not self._exhausted:
            self._next = next(self._ops, None)
            self._exhausted = self._next is None
        return self._next

    async def _apply_until(self, offset: float) -> int:
        n = 0
        while True:
            op = self._peek()
            if op is None or op.at > offset:
                return n
            self._next = None
            self.apply(op)
            n += 1
            if n % APPLY_SLICE == 0:
                await asyncio.sleep(0)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._apply_until(self.offset)
            op = self._peek()
            self._wake.clear()
            if op is None or self._clock_base is None:
                await self._wake.wait()
                continue
            delay = max(0.0, (op.at - self.offset) / self.speed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    # ---- applying ops ----------------------------------------------------------------------

    def _wall_at(self, offset: float, now_ns: int) -> int:
        i = bisect.bisect_right(self._checkpoints_at, offset + 1e-9) - 1
        return self._checkpoints_ns[i] if i >= 0 else now_ns

    def _substitute(self, value: Any, now_ns: int, now_text: str) -> Any:
        """`value` with the `<now>` / `<at:T>` placeholders replaced by wall-clock timestamps."""
        # via JSON bytes: one C-speed dump and a search; most ops carry no placeholder at all
        raw = orjson.dumps(value)
        if b'"<' not in raw:
            return value
        raw = raw.replace(b'"<now>"', b'"' + now_text.encode() + b'"')
        if b'"<at:' in raw:

            def at(m: re.Match[bytes]) -> bytes:
                wall = self._wall_at(float(m.group(1)), now_ns)
                return b'"' + k8s_time(wall).encode() + b'"'

            raw = _AT.sub(at, raw)
        return orjson.loads(raw)

    def apply(self, op: Op) -> None:
        """Apply one scenario op to the cluster now (errors are counted, never raised)."""
        now_ns = time.time_ns()
        if not self._checkpoints_at or op.at - self._checkpoints_at[-1] >= 0.25:
            self._checkpoints_at.append(op.at)
            self._checkpoints_ns.append(now_ns)
        now_text = k8s_time(now_ns)
        a = op.action
        self.applied_ops += 1
        try:
            if isinstance(a, Create):
                ctx = WriteContext(manager=a.manager, subresource="*", now_ns=now_ns)
                self.store.create(a.type, self._substitute(a.obj, now_ns, now_text), ctx)
            elif isinstance(a, Patch):
                ctx = WriteContext(manager=a.manager, subresource="*", now_ns=now_ns)
                patch = self._substitute(a.patch, now_ns, now_text)
                self.store.patch(a.type, a.namespace, a.name, patch, "merge", ctx)
            elif isinstance(a, Delete):
                ctx = WriteContext(manager=a.manager, now_ns=now_ns)
                self.store.delete(a.type, a.namespace, a.name, ctx)
            elif isinstance(a, Log):
                text = (
                    a.text.replace("<now>", rfc3339_nano(now_ns)) if "<now>" in a.text else a.text
                )
                self.logs.append(a.namespace, a.pod, a.container, text, now_ns)
            elif isinstance(a, RestartLog):
                self.logs.restart(a.namespace, a.pod, a.container)
            elif isinstance(a, PodUsage):
                usage = tuple(Usage(c, cpu, mem) for c, cpu, mem in a.containers)
                self.metrics.set_pod(a.namespace, a.pod, usage, now_ns)
        except (ApiError, KeyError) as err:
            # e.g. a test deleted an object the script still patches: the cluster goes on
            self.op_errors += 1
            log.debug("scenario op at %.3f failed: %s", op.at, err)

    def _on_event(self, type_name: str, ev: WatchEvent) -> None:
        if type_name == CRD_TYPE:
            obj = ev.obj.obj
            if ev.type == DELETED:
                gone = self.registry.remove_crd(obj["metadata"]["name"])
                for st in gone[:1]:
                    ts = self.store.type_store(st.storage)
                    for key in list(ts.objects):
                        with contextlib.suppress(ApiError, KeyError):
                            ts_obj = ts.objects.get(key)
                            if ts_obj is not None:
                                self.store._commit(ts, key, None, DELETED, ts_obj, final=ts_obj.obj)
            else:
                self.registry.apply_crd(obj)
        elif type_name == "pods" and ev.type == DELETED:
            self.logs.remove_pod(ev.key[0], ev.key[1])
            self.metrics.forget_pod(ev.key[0], ev.key[1])
