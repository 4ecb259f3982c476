"""`SimClusterThread`: a SimCluster on its own event loop in a background thread.

For synchronous code (subprocess-based kubectl tests, scripts): the blocking calls of the test
never stall the server.

    with SimClusterThread(scenario="default", autorun=False) as sim:
        sim.advance(60)
        subprocess.run(["kubectl", "--kubeconfig", sim.kubeconfig_path, "get", "pods", "-A"])
        sim.call(sim.cluster.faults.fail_next, 1, 503)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from khronoscope.sim.cluster import SimCluster

T = TypeVar("T")


class SimClusterThread:
    """Runs a SimCluster in a daemon thread; methods block until the loop has done the work."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.cluster: SimCluster | None = None

    def start(self) -> SimClusterThread:
        """Start the loop thread and the cluster; returns when it serves."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def main() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=main, name="khronoscope-sim", daemon=True)
        self._thread.start()
        ready.wait()

        async def build() -> SimCluster:
            return await SimCluster(**self._kwargs).start()

        self.cluster = self.run(build())
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the cluster's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a plain function on the cluster's loop (e.g. `sim.cluster.faults.drop_watches`)."""

        async def wrapper() -> T:
            return fn(*args, **kwargs)

        return self.run(wrapper())

    @property
    def sim(self) -> SimCluster:
        """The cluster (read its attributes; call its methods through `run`/`call`)."""
        assert self.cluster is not None
        return self.cluster

    @property
    def kubeconfig_path(self) -> Path:
        """The admin kubeconfig."""
        assert self.sim.kubeconfig_path is not None
        return self.sim.kubeconfig_path

    @property
    def url(self) -> str:
        """The server URL."""
        return self.sim.url

    def advance(self, seconds: float) -> int:
        """Play `seconds` of scenario at once."""
        return self.run(self.sim.advance(seconds), timeout=300)

    def add_user(self, name: str, **kwargs: Any) -> Path:
        """A limited user's kubeconfig (see SimCluster.add_user)."""
        return self.call(self.sim.add_user, name, **kwargs)

    def stop(self) -> None:
        """Close the cluster and end the thread."""
        if self._loop is None:
            return
        if self.cluster is not None:
            self.run(self.cluster.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> SimClusterThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
