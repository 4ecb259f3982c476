"""Benchmark of the simulated cluster: list time for 10,000 pods and sustained watch events/s.

    python bench/sim.py [--pods 10000] [--watchers 2] [--seconds 5] [--churn 1000,3000,6000]

The server runs in a child process (as `khronoscope demo --no-ui` would), the clients here, so
the figures are the server's, not the client's parsing. Also printed: the store's raw apply
rate (no HTTP). The machine is shared by several developers on 2 cores: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def serve(pods: int, churn: int) -> None:
    """Child mode: serve the scale scenario until stdin closes."""
    from khronoscope.sim import SimCluster

    sim = SimCluster("scale", scenario_options={"pods": pods, "nodes": 100, "churn": churn})
    await sim.start()
    assert sim.workdir is not None
    ca = sim.workdir / "ca.pem"
    ca.write_bytes(sim.ca_pem)
    print(json.dumps({"url": sim.url, "token": sim.token, "ca": str(ca)}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await sim.close()


class Server:
    """A child process serving the scale scenario."""

    def __init__(self, pods: int, churn: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--pods", str(pods), "--churn", str(churn)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.url: str = info["url"]
        self.headers = {"Authorization": f"Bearer {info['token']}"}
        self.ssl = ssl.create_default_context(cafile=info["ca"])

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


async def list_all(session: aiohttp.ClientSession, srv: Server, limit: int) -> tuple[int, int]:
    token, count, pages = "", 0, 0
    while True:
        params = {"limit": str(limit)} if limit else {}
        if token:
            params["continue"] = token
        async with session.get(f"{srv.url}/api/v1/pods", params=params, headers=srv.headers) as r:
            doc = orjson.loads(await r.read())
        count += len(doc["items"])
        pages += 1
        token = doc["metadata"].get("continue", "")
        if not token:
            return count, pages


async def watch_count(
    session: aiohttp.ClientSession, srv: Server, seconds: float
) -> tuple[int, float]:
    """Follow all pods from now; count events (newlines) cheaply; (events, elapsed)."""
    async with session.get(
        f"{srv.url}/api/v1/pods", params={"limit": "1"}, headers=srv.headers
    ) as r:
        rv = orjson.loads(await r.read())["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": str(int(seconds) + 5)}
    n = 0
    start = time.monotonic()
    async with session.get(f"{srv.url}/api/v1/pods", params=params, headers=srv.headers) as r:
        async for chunk in r.content.iter_chunked(1 << 16):
            n += chunk.count(b"\n")
            if time.monotonic() - start >= seconds:
                break
    return n, time.monotonic() - start


def store_apply_rate(pods: int) -> str:
    from khronoscope.sim import SimCluster

    sim = SimCluster(
        "scale", autorun=False, scenario_options={"pods": pods, "nodes": 100, "churn": 5000}
    )
    ops = list(sim.scenario.ops(until=3.0))
    start = time.perf_counter()
    for op in ops:
        sim.apply(op)
    dt = time.perf_counter() - start
    return f"store apply rate (no HTTP, {pods} creates + churn): {len(ops) / dt:,.0f} ops/s"


async def main(args: argparse.Namespace) -> None:
    print(store_apply_rate(args.pods))
    srv = Server(args.pods, 0)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=srv.ssl)) as session:
            for limit in (500, 0):
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    count, pages = await list_all(session, srv, limit)
                    times.append(time.perf_counter() - start)
                what = f"limit={limit}, {pages} requests" if limit else "one request"
                print(
                    f"list {count} pods ({what}): best {min(times) * 1000:.0f} ms "
                    f"(client parse included; ~{count * 2 // 1000} MB of JSON)"
                )
    finally:
        srv.stop()
    for churn in [int(c) for c in args.churn.split(",")]:
        srv = Server(args.pods, churn)
        try:
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=srv.ssl)
            ) as session:
                results = await asyncio.gather(
                    *(watch_count(session, srv, args.seconds) for _ in range(args.watchers))
                )
            rates = [n / dt for n, dt in results]
            print(
                f"churn {churn:>5}/s offered: {args.watchers} watchers each received "
                f"{min(rates):,.0f}-{max(rates):,.0f} events/s "
                f"({sum(rates):,.0f} events/s served in total)"
            )
        finally:
            srv.stop()
    print("(2 cores shared with other developers: figures are noisy; run twice)")


def cli() -> None:
    p = argparse.ArgumentParser(description="benchmark the simulated cluster")
    p.add_argument("--pods", type=int, default=10_000)
    p.add_argument("--watchers", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--churn", default="1000,3000,6000", help="offered changes/s, comma-separated")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        asyncio.run(serve(args.pods, int(args.churn)))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
