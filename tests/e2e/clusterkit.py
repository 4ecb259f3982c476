"""Helpers for the cluster tests against a real API server: sessions, fresh lists, waiting."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.cluster.watcher import WatchTuning
from khronoscope.core.source import TypeState
from khronoscope.core.types import ObjectKey
from tests.e2e.kube import KubeAPIServer

# short pacing so faults resolve quickly; nothing here is asserted about time
FAST = WatchTuning(
    server_timeout=60,
    backoff_base=0.05,
    backoff_max=0.5,
    forbidden_retry=0.5,
    gone_retry=0.5,
    resume_confirm=0.3,
)


async def start_session(
    kubeconfig: Path, tuning: WatchTuning = FAST, rescan_interval: float = 300.0, **options: Any
) -> ClusterSession:
    """A started, synced session."""
    session = ClusterSession(
        ClusterOptions(kubeconfig=str(kubeconfig), **options),
        tuning=dataclasses.replace(tuning),
        rescan_interval=rescan_interval,
    )
    await session.start()
    assert await session.wait_synced(60), "session did not sync"
    return session


async def kubectl(server: KubeAPIServer, *args: str, user: bool = False, stdin: str = "") -> str:
    """kubectl off the event loop (the session's watchers keep running meanwhile)."""
    kw = {"input": stdin} if stdin else {}
    return await asyncio.to_thread(server.kubectl, *args, user=user, **kw)


async def fresh_list(
    server: KubeAPIServer, type_name: str, namespace: str | None = None
) -> dict[ObjectKey, str]:
    """What the server holds now for a type: key -> resourceVersion (read by kubectl)."""
    scope = ["-n", namespace] if namespace else ["-A"]
    doc = json.loads(await kubectl(server, "get", type_name, *scope, "-o", "json"))
    out: dict[ObjectKey, str] = {}
    for item in doc["items"]:
        md = item["metadata"]
        out[ObjectKey(type_name, md.get("namespace", ""), md["name"])] = md["resourceVersion"]
    return out


def stored(
    session: ClusterSession, type_name: str, namespace: str | None = None
) -> dict[ObjectKey, str]:
    """What the session's TemporalMap holds at the end for a type: key -> resourceVersion."""
    t = time.time_ns() + 10**12
    return {
        key: obj["metadata"]["resourceVersion"]
        for key, obj in session.tmap.state_at(t, type_name, namespace).items()
    }


async def eventually(
    check: Callable[[], Any], what: str, timeout: float = 60.0, interval: float = 0.2
) -> Any:
    """Poll `check()` (sync or async) until it returns a truthy value; fail with `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(interval)


async def matches_server(
    session: ClusterSession, server: KubeAPIServer, types: list[str], namespace: str | None = None
) -> bool:
    """The check of record: the TemporalMap's state at the end equals a fresh list."""
    for type_name in types:
        if stored(session, type_name, namespace) != await fresh_list(server, type_name, namespace):
            return False
    return True


async def assert_matches_server(
    session: ClusterSession, server: KubeAPIServer, types: list[str], namespace: str | None = None
) -> None:
    """Wait (bounded) for the session to catch up with the server, then require equality.

    `namespace`: compare only that namespace (for a session restricted to it)."""

    async def check() -> bool:
        return await matches_server(session, server, types, namespace)

    try:
        await eventually(check, "the session's state equals a fresh list", timeout=30)
    except AssertionError:
        for type_name in types:
            got = stored(session, type_name, namespace)
            want = await fresh_list(server, type_name, namespace)
            assert got == want, f"{type_name}: stored != fresh list"
        raise


def watched_again(session: ClusterSession, before: dict[str, int]) -> bool:
    """Every type live, its gap closed, on a watch opened since `before` (scope -> watches)."""
    now = session.now()
    return all(
        w.state is TypeState.LIVE and w.open_gap(now) is None and w.watches > before[w.scope]
        for w in session.watchers()
    )
