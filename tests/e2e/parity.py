"""One client and one backend interface for the sim/real parity tests."""

from __future__ import annotations

import base64
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml


@dataclass
class Backend:
    """A server the parity tests talk to: where it is, and how to expire old resourceVersions."""

    name: str
    kubeconfig: Path
    unprivileged_kubeconfig: Path
    compact: Callable[[], None]


class Client:
    """A raw HTTP client from a token kubeconfig: the questions, asked the same way to both."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = yaml.safe_load(kubeconfig.read_text())
        ctx_name = cfg["current-context"]
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        self.base = cluster["server"]
        self.headers = {"Authorization": f"Bearer {user['token']}", "Accept": "application/json"}
        self.ssl: ssl.SSLContext | bool = False
        if self.base.startswith("https"):
            ca = cluster.get("certificate-authority-data")
            with tempfile.NamedTemporaryFile(suffix=".crt", delete=False) as f:
                f.write(base64.b64decode(ca) if ca else b"")
            self.ssl = ssl.create_default_context(cafile=f.name)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self.session = aiohttp.ClientSession(headers=self.headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        **params: Any,
    ) -> tuple[int, dict]:
        """One request; returns (status, decoded JSON body)."""
        assert self.session is not None
        headers = {"Content-Type": content_type} if body is not None else {}
        data = orjson.dumps(body) if body is not None else None
        async with self.session.request(
            method, self.base + path, params=params, data=data, headers=headers, ssl=self.ssl
        ) as resp:
            raw = await resp.read()
            return resp.status, (orjson.loads(raw) if raw else {})

    async def get(self, path: str, **params: Any) -> dict:
        """GET that must succeed."""
        status, body = await self.request("GET", path, **params)
        assert status == 200, (path, status, body)
        return body

    async def watch(self, path: str, **params: Any) -> AsyncIterator[dict]:
        """Watch events, one decoded JSON line at a time, until the server ends the stream."""
        assert self.session is not None
        params = {"watch": "true", **params}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=30)
        async with self.session.get(
            self.base + path, params=params, ssl=self.ssl, timeout=timeout
        ) as resp:
            if resp.status != 200:
                yield {"type": "HTTP", "status": resp.status, "object": await resp.json()}
                return
            async for line in resp.content:
                if line.strip():
                    yield orjson.loads(line)
