"""The scale scenario: 10,000 pods are reachable through paginated lists, and churn continues."""

from __future__ import annotations

import time

from khronoscope.sim import SimCluster
from tests.cluster.conftest import RawClient


async def test_ten_thousand_pods_listed_in_pages_exactly_once() -> None:
    sim = SimCluster(
        "scale", autorun=False, scenario_options={"pods": 10_000, "nodes": 40, "churn": 500}
    )
    start = time.monotonic()
    await sim.start()
    created = time.monotonic() - start
    client = RawClient(sim)
    try:
        assert sim.store.count("pods") == 10_000
        names: list[str] = []
        token = ""
        pages = 0
        while True:
            params = {"limit": "1000"}
            if token:
                params["continue"] = token
            status, page = await client.get("/api/v1/pods", **params)
            assert status == 200
            names += [
                f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in page["items"]
            ]
            pages += 1
            token = page["metadata"].get("continue", "")
            if pages == 3:
                await sim.advance(2)  # churn between pages: the list stays at its first version
            if not token:
                break
        assert pages == 10
        assert len(names) == len(set(names)) == 10_000
        rv = sim.store.rv
        await sim.advance(3)
        assert sim.store.rv >= rv + 1000  # ~500 changes per second of scenario time
        assert sim.store.count("pods") == 10_000
        _, nodes = await client.get("/api/v1/nodes")
        assert len(nodes["items"]) == 40
        assert created < 30
    finally:
        await client.close()
        await sim.close()
