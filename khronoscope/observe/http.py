"""`record --listen ADDR:PORT`: /healthz, /readyz and /metrics, served on the recorder's loop.

aiohttp's server (already a dependency) on the same event loop as the watchers: no thread, and
a loop that stops turning stops answering /healthz, which is what a liveness probe must see.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from khronoscope.errors import KhronoscopeError, UsageError
from khronoscope.observe.metrics import CONTENT_TYPE, RecorderMetrics

# (ok, reason): reason is shown in the body when not ok
Check = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class ListenAddress:
    """Where to serve: host ('' for every interface) and port (0 picks a free one)."""

    host: str
    port: int


def parse_listen(text: str) -> ListenAddress:
    """`0.0.0.0:8080`, `127.0.0.1:0`, `[::]:8080`, `localhost:9090`, `:8080`."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--listen {text!r}: use ADDR:PORT, e.g. 0.0.0.0:8080 or 127.0.0.1:9090")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError as err:
            raise UsageError(f"--listen {text!r}: {host!r} is not an IPv6 address") from err
    elif ":" in host:
        raise UsageError(f"--listen {text!r}: put an IPv6 address in brackets: [::]:8080")
    return ListenAddress(host, int(port_text))


class HealthServer:
    """The three endpoints; `healthy` and `ready` are asked at each request."""

    def __init__(self, metrics: RecorderMetrics, healthy: Check, ready: Check) -> None:
        self.metrics = metrics
        self.healthy = healthy
        self.ready = ready
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _healthz(self, _request: web.Request) -> web.Response:
        ok, reason = self.healthy()
        return web.Response(text="ok\n" if ok else f"{reason}\n", status=200 if ok else 503)

    async def _readyz(self, _request: web.Request) -> web.Response:
        ok, reason = self.ready()
        return web.Response(text="ready\n" if ok else f"{reason}\n", status=200 if ok else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def start(self, where: ListenAddress) -> int:
        """Listen; returns the port (the one picked when 0 was asked). One-line errors."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, where.host or None, where.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            shown = f"[{where.host}]" if ":" in where.host else where.host
            raise KhronoscopeError(
                f"cannot listen on {shown}:{where.port}: {err.strerror or err}"
            ) from err
        self._runner = runner
        # the bound address: the port the system picked when 0 was asked
        self.port = int(runner.addresses[0][1]) if runner.addresses else where.port
        return self.port

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
