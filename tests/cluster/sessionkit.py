"""Helpers for the cluster session tests against the simulated cluster (fixture `sim` in
conftest.py): sessions with short pacing, the server's own state, bounded waits."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.cluster.watcher import WatchTuning
from khronoscope.core.types import ObjectKey
from khronoscope.sim.cluster import SimCluster

# short pacing so faults resolve quickly; nothing is asserted about time
FAST = WatchTuning(
    server_timeout=30,
    backoff_base=0.02,
    backoff_max=0.2,
    forbidden_retry=0.3,
    gone_retry=0.3,
    resume_confirm=0.2,
    request_timeout=5.0,
    connect_timeout=2.0,
)
FUTURE = 2**62


async def start_session(
    kubeconfig: Any, tuning: WatchTuning = FAST, rescan_interval: float = 300.0, **options: Any
) -> ClusterSession:
    """A started and synced session."""
    session = ClusterSession(
        ClusterOptions(kubeconfig=str(kubeconfig), **options),
        tuning=dataclasses.replace(tuning),
        rescan_interval=rescan_interval,
    )
    await session.start()
    assert await session.wait_synced(30), "the session did not sync"
    return session


def configmap(name: str, ns: str = "demo", **data: str) -> dict[str, Any]:
    """A ConfigMap manifest."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": dict(data),
    }


def server_state(sim: SimCluster, type_name: str) -> dict[ObjectKey, str]:
    """What the simulated server holds for a type: key -> resourceVersion (its store, directly)."""
    served = sim.registry.by_name(type_name)
    storage = served.storage if served is not None else type_name
    out = {}
    for obj in sim.store.objects(storage):
        md = obj["metadata"]
        out[ObjectKey(type_name, md.get("namespace", ""), md["name"])] = md["resourceVersion"]
    return out


def stored(session: ClusterSession, type_name: str) -> dict[ObjectKey, str]:
    """What the session's TemporalMap holds at the end for a type: key -> resourceVersion."""
    return {
        key: obj["metadata"]["resourceVersion"]
        for key, obj in session.tmap.state_at(time.time_ns() + 10**12, type_name).items()
    }


def mismatches(session: ClusterSession, sim: SimCluster) -> list[str]:
    """Types whose stored state differs from the server's (every type the session watches)."""
    return [
        name
        for name in session.resource_types()
        if stored(session, name) != server_state(sim, name)
    ]


async def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll `check()` until truthy (a bounded wait, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def assert_matches_server(session: ClusterSession, sim: SimCluster) -> None:
    """The check of record: once caught up, the TemporalMap's state equals the server's."""
    try:
        await eventually(lambda: not mismatches(session, sim), "state equals the server's")
    except AssertionError:
        bad = mismatches(session, sim)
        raise AssertionError(f"stored state differs from the server for {bad}") from None
