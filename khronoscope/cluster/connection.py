"""HTTP to one API server: raw JSON requests and watch streams over aiohttp.

Two connection pools: one for short requests (discovery, list pages) and one for watches. A
watch holds its connection for minutes, so sharing a bounded pool with requests would let a
cluster with many types starve every list (kubernetes_asyncio's single pool of 100 does). The
watch pool is unbounded (one connection per watched type and namespace, a number the session
controls) and its sockets use TCP keepalive so a peer that vanished is noticed even on a quiet
watch.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from khronoscope import __version__
from khronoscope.cluster.errors import ApiError, TransportError
from khronoscope.cluster.kubeconfig import ClusterCredentials
from khronoscope.cluster.reachability import Reachability
from khronoscope.cluster.scrub import scrub

USER_AGENT = f"khronoscope/{__version__}"
_READ_BUFSIZE = 2**21  # one watch line can be a whole large object (etcd allows 1.5 MiB)


class Connection:
    """Authenticated raw-JSON access to one API server."""

    def __init__(
        self,
        credentials: ClusterCredentials,
        request_pool: int = 16,
        connect_timeout: float = 10.0,
        request_timeout: float = 60.0,
        keepalive_idle: int = 30,
        probe_interval: float = 1.0,
    ) -> None:
        self.credentials = credentials
        self.host = credentials.host
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self._keepalive_idle = keepalive_idle
        self._request_pool = request_pool
        self._requests: aiohttp.ClientSession | None = None
        self._watches: aiohttp.ClientSession | None = None
        self._refresh_lock = asyncio.Lock()
        # shared by every watcher: one probe notices the server coming back after an outage
        self.reachability = Reachability(self._answers, probe_interval)

    # --- sessions ----------------------------------------------------------------------------

    def _session(self, watch: bool) -> aiohttp.ClientSession:
        if watch:
            if self._watches is None or self._watches.closed:
                self._watches = _client_session(0, self._keepalive_idle)
            return self._watches
        if self._requests is None or self._requests.closed:
            self._requests = _client_session(self._request_pool, self._keepalive_idle)
        return self._requests

    async def close(self) -> None:
        """Stop probing and close both pools."""
        await self.reachability.close()
        for session in (self._requests, self._watches):
            if session is not None and not session.closed:
                await session.close()
        self._requests = self._watches = None

    # --- requests ----------------------------------------------------------------------------

    async def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        auth = await self.credentials.authorization()
        if auth:
            headers["Authorization"] = auth
        return headers

    async def refresh_credentials(self) -> bool:
        """Renew credentials after a 401; True when they changed (one refresh at a time)."""
        async with self._refresh_lock:
            return await self.credentials.refresh()

    def _request_kwargs(self) -> dict[str, Any]:
        creds = self.credentials
        kw: dict[str, Any] = {"ssl": creds.ssl_context if creds.ssl_context is not None else True}
        if creds.server_hostname:
            kw["server_hostname"] = creds.server_hostname
        if creds.proxy:
            kw["proxy"] = creds.proxy
        return kw

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> bytes:
        """GET `path` and return the body; ApiError on an error status, TransportError if the
        server cannot be reached (or within `timeout` s, default `request_timeout`). A 401 is
        retried once after refreshing credentials."""
        total = self.request_timeout if timeout is None else timeout
        connect = self.connect_timeout if timeout is None else min(timeout, self.connect_timeout)
        # sock_read too: a pooled keep-alive connection may have died silently
        client_timeout = aiohttp.ClientTimeout(
            total=total, connect=connect, sock_connect=connect, sock_read=total / 2
        )
        for attempt in (0, 1):
            try:
                async with self._session(False).get(
                    self.host + path,
                    params=params,
                    headers=await self._headers(),
                    timeout=client_timeout,
                    **self._request_kwargs(),
                ) as resp:
                    body = await resp.read()
                    if resp.status < 400:
                        return body
                    err = api_error(resp.status, resp.reason or "", body, creds_secrets(self))
                    err.retry_after = (
                        parse_retry_after(resp.headers.get("Retry-After")) or err.retry_after
                    )
            except (TimeoutError, aiohttp.ClientError, OSError, ssl.SSLError) as exc:
                raise TransportError(describe_transport_error(exc, self.host)) from exc
            if err.unauthorized and attempt == 0 and await self.refresh_credentials():
                continue
            raise err
        raise AssertionError("unreachable")

    async def _answers(self) -> bool:
        """True when the server answers `/readyz` (a refusal to say, 401/403/404, counts: it
        answers; only a 5xx or no answer at all means it is not back)."""
        try:
            await self.get("/readyz", timeout=max(1.0, 2 * self.reachability.interval))
        except TransportError:
            return False
        except ApiError as err:
            return err.status < 500
        return True

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` and parse the JSON body with orjson."""
        body = await self.get(path, params)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise TransportError(f"invalid JSON from {path}: {exc}") from exc

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        params: Mapping[str, str],
        read_timeout: float | None,
        total_timeout: float | None,
    ) -> AsyncIterator[aiohttp.StreamReader]:
        """Open a watch (or a followed log): yields the response body stream once the server
        answered 200.

        `read_timeout` bounds the silence between two chunks, `total_timeout` the whole stream
        (None: unbounded; a followed log of a quiet container may say nothing for hours).
        """
        timeout = aiohttp.ClientTimeout(
            total=total_timeout,
            connect=self.connect_timeout,
            sock_connect=self.connect_timeout,
            sock_read=read_timeout,
        )
        for attempt in (0, 1):
            try:
                resp = await self._session(True).get(
                    self.host + path,
                    params=params,
                    headers=await self._headers(),
                    timeout=timeout,
                    **self._request_kwargs(),
                )
            except (TimeoutError, aiohttp.ClientError, OSError, ssl.SSLError) as exc:
                raise TransportError(describe_transport_error(exc, self.host)) from exc
            try:
                if resp.status >= 400:
                    try:
                        body = await resp.read()
                    except (TimeoutError, aiohttp.ClientError) as exc:
                        raise TransportError(describe_transport_error(exc, self.host)) from exc
                    err = api_error(resp.status, resp.reason or "", body, creds_secrets(self))
                    err.retry_after = (
                        parse_retry_after(resp.headers.get("Retry-After")) or err.retry_after
                    )
                    if err.unauthorized and attempt == 0 and await self.refresh_credentials():
                        resp.release()
                        continue
                    raise err
                yield resp.content
            except BaseException:
                resp.close()  # an aborted stream cannot go back to the pool
                raise
            else:
                resp.release()
            return


def api_error(status: int, reason: str, body: bytes, secrets: Iterable[str] = ()) -> ApiError:
    """An ApiError from an HTTP error response (a Status body when the server sent one).

    The body is cut and `secrets` (the credentials sent) are masked in it: a proxy may echo
    the request it refused, Authorization header included."""
    secrets = list(secrets)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        if isinstance(doc.get("message"), str):
            doc = {**doc, "message": scrub(doc["message"], secrets)}
        return ApiError.from_status(doc, status)
    text = body[:4096].decode("utf-8", "replace")
    return ApiError(status, scrub(reason, secrets, 60), scrub(text, secrets, 200))


def creds_secrets(connection: Connection) -> list[str]:
    """What a message from this connection's server must never show."""
    return connection.credentials.secrets()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; the API server sends delta-seconds, never a date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def describe_transport_error(exc: BaseException, host: str) -> str:
    """One line for a connection problem: what failed and where."""
    host = scrub(host, limit=200)  # a server URL may carry user:password@
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out talking to {host}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate of {host} not trusted: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            cause = "connection refused"
        elif isinstance(os_error, socket.gaierror):
            cause = f"cannot resolve host ({os_error.strerror})"
        else:
            cause = os_error.strerror or str(os_error)
        return f"cannot connect to {host}: {cause}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection"
    text = scrub(str(exc)) or type(exc).__name__
    return f"{type(exc).__name__} talking to {scrub(host)}: {text}"


def _client_session(limit: int, keepalive_idle: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, socket_factory=_keepalive_factory(keepalive_idle))
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=True,  # honour HTTPS_PROXY/NO_PROXY as kubectl does
        read_bufsize=_READ_BUFSIZE,
        auto_decompress=True,
    )


def _keepalive_factory(idle: int) -> Any:
    """A socket factory enabling TCP keepalive: a dead peer is noticed in ~idle + 3*10 s."""

    def factory(addr_info: Any) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
            opt = getattr(socket, name, None)
            if opt is not None:
                sock.setsockopt(socket.IPPROTO_TCP, opt, value)
        return sock

    return factory
