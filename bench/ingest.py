"""Ingest benchmark: the simulated cluster's scale scenario, end to end (HTTP -> TemporalMap).

    python bench/ingest.py [--pods 10000] [--changes 20000] [--churn 20000] [--naive-changes N]

The simulated cluster runs in a child process (its own core, as a real API server would), with
its scenario clock stopped; the parent drives it over a pipe. Printed:
- sync: time from `ClusterSession.start()` to every type listed (10,000 pods), all types;
- live: a burst of pod changes made while a pods-only session watches: changes/s from the first
  change made to the last one stored. The simulated server (Python too) makes and serves
  changes more slowly than the client stores them, so this figure is the server's; the
  client's CPU per change is printed beside it;
- ours: a burst made while the server is down, streamed at once when it is back (the watcher
  resumes from its resourceVersion): the client is the bottleneck, so this is the sustained
  ingest rate end to end (HTTP -> orjson -> TemporalMap), and the figure the target is for;
- naive: the same catch-up through kubernetes_asyncio's stock typed `Watch`, each event turned
  back into a dict (`sanitize_for_serialization`) and stored in a TemporalMap; and the typed
  list of the same pods for its sync time;
- the ratio ours/naive, in the same run.
The machine is shared: figures are noisy, compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# --- the child: a simulated cluster driven over stdin/stdout --------------------------------


async def _serve(pods: int, churn: int) -> None:
    from khronoscope.sim.cluster import SimCluster

    sim = SimCluster(
        "scale",
        scenario_options={"pods": pods, "churn": churn},
        autorun=False,
        retain_events=200_000,
    )
    await sim.start()
    counts: dict[str, int] = {}
    last: dict[str, int] = {}

    def on_event(type_name: str, ev: Any) -> None:
        counts[type_name] = counts.get(type_name, 0) + 1
        last[type_name] = ev.rv

    sim.store.listeners.append(on_event)
    _reply({"kubeconfig": str(sim.kubeconfig_path)})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        if cmd["op"] == "advance":
            before = dict(counts)
            cpu = time.process_time()
            await sim.advance(cmd["seconds"])
            _reply(
                {
                    "events": {k: v - before.get(k, 0) for k, v in counts.items()},
                    "last_rv": dict(last),
                    "cpu": time.process_time() - cpu,
                }
            )
        elif cmd["op"] == "stop":
            await sim.stop()
            _reply({})
        elif cmd["op"] == "start":
            await sim.start()
            _reply({})
        elif cmd["op"] == "quit":
            break
    await sim.close()


def _reply(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


class Sim:
    """The parent's handle on the child process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, pods: int, churn: int) -> tuple[Sim, str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            "--pods",
            str(pods),
            "--churn",
            str(churn),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env=env,
            limit=2**20,
        )
        sim = cls(proc)
        hello = await sim._read()
        return sim, hello["kubeconfig"]

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulated cluster exited")
        return json.loads(line)

    async def command(self, op: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"op": op, **kw}) + "\n").encode())
        await self.proc.stdin.drain()
        return await self._read()

    async def advance(self, seconds: float) -> dict[str, Any]:
        """Apply `seconds` of the scenario at once; the events made, by type."""
        return await self.command("advance", seconds=seconds)

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"op": "quit"}\n')
        await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


# --- ours ------------------------------------------------------------------------------------


async def measure_sync(kubeconfig: str) -> dict[str, float]:
    """Start a session on every type and wait until all are listed."""
    from khronoscope.cluster.options import ClusterOptions
    from khronoscope.cluster.session import ClusterSession

    t0, c0 = time.perf_counter(), time.process_time()
    session = ClusterSession(ClusterOptions(kubeconfig=kubeconfig))
    await session.start()
    await session.wait_synced()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    status = session.type_status()
    out = {
        "seconds": elapsed,
        "cpu": cpu,
        "types": len(status),
        "pods": status["pods"].objects,
        "objects": sum(s.objects for s in status.values()),
    }
    await session.close()
    return out


def _pods_session(kubeconfig: str) -> Any:
    from khronoscope.cluster.options import ClusterOptions
    from khronoscope.cluster.session import ClusterSession
    from khronoscope.cluster.watcher import WatchTuning

    # reconnect at once after the outage of the catch-up measure
    tuning = WatchTuning(backoff_base=0.01, backoff_max=0.02)
    return ClusterSession(ClusterOptions(kubeconfig=kubeconfig, include=("pods",)), tuning=tuning)


async def _until_stored(watcher: Any, target_rv: int) -> None:
    while int(watcher.rv or 0) < target_rv:
        await asyncio.sleep(0.001)


def _figures(reply: dict[str, Any], seconds: float, cpu: float) -> dict[str, Any]:
    events = reply["events"].get("pods", 0)
    return {
        "events": events,
        "seconds": seconds,
        "rate": events / seconds,
        "cpu_us": cpu / max(events, 1) * 1e6,
    }


async def measure_ours(sim: Sim, kubeconfig: str, changes: int, churn: int) -> dict[str, Any]:
    """A pods-only session: a burst made while it watches (live), then a burst made while the
    server was down, streamed at once when it is back (catch-up: the client is the limit)."""
    session = _pods_session(kubeconfig)
    await session.start()
    await session.wait_synced()
    (watcher,) = session.watchers("pods")
    while watcher.watches == 0:
        await asyncio.sleep(0.01)

    stored0 = session.change_count
    t0, c0 = time.perf_counter(), time.process_time()
    reply = await sim.advance(changes / churn)
    await _until_stored(watcher, reply["last_rv"]["pods"])
    live = _figures(reply, time.perf_counter() - t0, time.process_time() - c0)
    live["server_cpu_us"] = reply["cpu"] / max(sum(reply["events"].values()), 1) * 1e6
    live["stored"] = session.change_count - stored0

    await sim.command("stop")
    reply = await sim.advance(changes / churn)
    stored0 = session.change_count
    t0, c0 = time.perf_counter(), time.process_time()
    await sim.command("start")
    await _until_stored(watcher, reply["last_rv"]["pods"])
    catchup = _figures(reply, time.perf_counter() - t0, time.process_time() - c0)
    catchup["stored"] = session.change_count - stored0
    # resumed from its resourceVersion (a relist would measure a list, not changes)
    assert watcher.lists == 1, "the watcher relisted: raise retain_events"
    await session.close()
    return {"live": live, "catchup": catchup}


# --- naive: kubernetes_asyncio's typed models ----------------------------------------------


async def measure_naive(sim: Sim, kubeconfig: str, changes: int, churn: int) -> dict[str, float]:
    """The same through kubernetes_asyncio's stock list and typed `Watch`, into a TemporalMap."""
    from kubernetes_asyncio import client, config, watch

    from khronoscope.core.types import ObjectKey
    from khronoscope.temporal.map import TemporalMap

    cfg = type.__call__(client.Configuration)
    await config.load_kube_config(
        config_file=kubeconfig, client_configuration=cfg, persist_config=False
    )
    api = client.ApiClient(cfg)
    v1 = client.CoreV1Api(api)
    tmap = TemporalMap()
    to_dict = api.sanitize_for_serialization

    t0 = time.perf_counter()
    pods = await v1.list_pod_for_all_namespaces()
    for pod in pods.items:
        tmap.put(
            ObjectKey("pods", pod.metadata.namespace, pod.metadata.name),
            time.time_ns(),
            to_dict(pod),
        )
    sync_seconds = time.perf_counter() - t0
    rv = pods.metadata.resource_version

    # the burst is made first; the typed Watch then streams it from the list's version
    reply = await sim.advance(changes / churn)
    target = reply["last_rv"]["pods"]
    last = 0
    t0, c0 = time.perf_counter(), time.process_time()
    w = watch.Watch()
    async with w.stream(
        v1.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=3600
    ) as stream:
        async for ev in stream:
            pod = ev["object"]
            key = ObjectKey("pods", pod.metadata.namespace, pod.metadata.name)
            if ev["type"] == "DELETED":
                tmap.delete(key, time.time_ns())
            else:
                tmap.put(key, time.time_ns(), to_dict(pod))
            last = int(pod.metadata.resource_version)
            if last >= target:
                break
    out = _figures(reply, time.perf_counter() - t0, time.process_time() - c0)
    out["sync_seconds"] = sync_seconds
    await api.close()
    return out


# --- main ------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    sim, kubeconfig = await Sim.start(args.pods, args.churn)
    try:
        await sim.advance(1.0)  # the scenario's churn starts one second in
        sync = await measure_sync(kubeconfig)
        print(
            f"sync   {sync['pods']:,} pods ({sync['objects']:,} objects, {sync['types']} types): "
            f"{sync['seconds']:.2f} s from start to synced (client CPU {sync['cpu']:.2f} s)"
        )
        ours = await measure_ours(sim, kubeconfig, args.changes, args.churn)
        live, catchup = ours["live"], ours["catchup"]
        print(
            f"live   {live['events']:,} changes made while watching, stored in "
            f"{live['seconds']:.2f} s: {live['rate']:,.0f} changes/s (bound by the simulated "
            f"server: {live['server_cpu_us']:.0f} us/change there); "
            f"client CPU {live['cpu_us']:.0f} us/change"
        )
        print(
            f"ours   {catchup['events']:,} changes streamed at once (catch-up after an outage): "
            f"{catchup['seconds']:.2f} s, {catchup['rate']:,.0f} changes/s end to end, "
            f"client CPU {catchup['cpu_us']:.0f} us/change"
        )
        naive = await measure_naive(sim, kubeconfig, args.naive_changes, args.churn)
        print(
            f"naive  {naive['events']:,} changes streamed at once through the typed Watch: "
            f"{naive['seconds']:.2f} s, {naive['rate']:,.0f} changes/s, client CPU "
            f"{naive['cpu_us']:.0f} us/change; typed list of the pods {naive['sync_seconds']:.2f} s"
        )
        ratio = catchup["rate"] / naive["rate"]
        print(
            f"ratio  ours/naive: {ratio:.1f}x changes/s, "
            f"{naive['cpu_us'] / catchup['cpu_us']:.1f}x less CPU per change"
        )
        print(
            f"target >= 10,000 changes/s: {'met' if catchup['rate'] >= 10_000 else 'NOT met'}; "
            f">= 5x naive: {'met' if ratio >= 5 else 'NOT met'}; "
            f"synced <= 3 s: {'met' if sync['seconds'] <= 3 else 'NOT met'} "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: figures are noisy)"
        )
    finally:
        await sim.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=20_000, help="burst size for ours")
    parser.add_argument("--naive-changes", type=int, default=5_000, help="burst for the baseline")
    parser.add_argument("--churn", type=int, default=20_000, help="scenario changes per second")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    ns = parse_args()
    if ns.serve:
        asyncio.run(_serve(ns.pods, ns.churn))
    else:
        asyncio.run(main(ns))
