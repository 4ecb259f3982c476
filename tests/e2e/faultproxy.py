"""A TCP proxy in front of a real API server that can fail the way networks fail.

- `partition()`: every open connection is reset and new ones are reset on arrival (the server
  is unreachable); `heal()` lets new connections through again.
- `stall()`: every open connection stops moving bytes but stays open (a half-open connection:
  the client sees silence, never an error); new connections stall too until `heal()`. Stalled
  connections stay stalled after `heal()`, as a dead peer would: only the client's read
  timeout can get it out.

TLS passes through untouched (the server certificate is valid for 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import yaml


class _Conn:
    def __init__(self, writer: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.upstream = upstream
        self.stalled = False
        self.tasks: list[asyncio.Task[None]] = []

    def reset(self) -> None:
        for w in (self.writer, self.upstream):
            transport = w.transport
            if transport is not None and not transport.is_closing():
                transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """Forward 127.0.0.1:<port> to the API server, with faults on demand."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.port = 0
        self.accepted = 0
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[_Conn] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.reset()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def partition(self) -> None:
        self.mode = "refuse"
        for conn in list(self._conns):
            conn.reset()

    def stall(self) -> None:
        self.mode = "stall"
        for conn in self._conns:
            conn.stalled = True

    def heal(self) -> None:
        self.mode = "pass"

    def kubeconfig(self, source: Path, dest: Path) -> Path:
        """A copy of `source` whose server is this proxy."""
        doc = yaml.safe_load(source.read_text())
        for cluster in doc["clusters"]:
            cluster["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        dest.write_text(yaml.safe_dump(doc))
        return dest

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            pass  # closing: asyncio would log a cancelled connection handler as an error
        finally:
            self._handlers.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "refuse":
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        conn = _Conn(writer, up_writer)
        conn.stalled = self.mode == "stall"
        self._conns.add(conn)
        conn.tasks = [
            asyncio.create_task(self._pump(conn, reader, up_writer)),
            asyncio.create_task(self._pump(conn, up_reader, writer)),
        ]
        try:
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        finally:
            self._conns.discard(conn)
            conn.reset()

    async def _pump(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            if conn.stalled:
                await asyncio.Event().wait()  # swallow everything from now on, forever
            writer.write(data)
            await writer.drain()
