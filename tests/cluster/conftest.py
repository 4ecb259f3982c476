"""Fixtures for tests against the simulated cluster over real HTTP(S)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from khronoscope.sim import SimCluster


class RawClient:
    """A bare HTTPS client for exact protocol checks (status codes, bodies, watch lines)."""

    def __init__(self, sim: SimCluster, token: str | None = None) -> None:
        self.sim = sim
        self.token = sim.token if token is None else token
        ctx = ssl.create_default_context(cadata=sim.ca_pem.decode())
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        """GET a path: (status, decoded JSON or text)."""
        async with self.session.get(
            self.sim.url + path, params=params, headers=self._headers()
        ) as r:
            body = await r.read()
            try:
                return r.status, orjson.loads(body)
            except orjson.JSONDecodeError:
                return r.status, body.decode()

    async def send(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str = "application/json",
        **params: Any,
    ) -> tuple[int, Any]:
        """A write request with a JSON body: (status, decoded JSON)."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = self._headers({"Content-Type": content_type})
        async with self.session.request(
            method, self.sim.url + path, data=data, params=params, headers=headers
        ) as r:
            return r.status, orjson.loads(await r.read())

    async def watch(
        self, path: str, max_events: int = 10_000, timeout: float = 10.0, **params: Any
    ) -> list[dict[str, Any]]:
        """Open a watch and collect its events until the server ends it (or max/timeout)."""
        params = {"watch": "true", **params}
        events: list[dict[str, Any]] = []
        tmo = aiohttp.ClientTimeout(total=timeout)
        async with self.session.get(
            self.sim.url + path, params=params, headers=self._headers(), timeout=tmo
        ) as r:
            assert r.status == 200, await r.text()
            async for line in r.content:
                if line.strip():
                    events.append(orjson.loads(line))
                    if len(events) >= max_events:
                        break
        return events

    async def close(self) -> None:
        """Close the session."""
        await self.session.close()


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    """A quiet simulated cluster on a manual clock (nothing happens unless a test says so)."""
    cluster = SimCluster("quiet", autorun=False, bookmark_interval=0.2)
    await cluster.start()
    yield cluster
    await cluster.close()


@pytest.fixture
async def client(sim: SimCluster) -> AsyncIterator[RawClient]:
    """A raw HTTPS client with the admin token."""
    c = RawClient(sim)
    yield c
    await c.close()
