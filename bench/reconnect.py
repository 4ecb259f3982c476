"""Reconnect benchmark: how long after a real kube-apiserver restart every type is watched again.

    KHRONOSCOPE_KUBE_SCRIPTS=/work/shared/kube python bench/reconnect.py [--outages 3,15,40]

Starts its own control plane (etcd + kube-apiserver 1.20 from ../shared/kube, in a temporary
KAPI_STATE), records it with a session on the production tuning (every type, as `record` does),
then for each outage length: stops kube-apiserver alone (SIGTERM), waits, starts it again with
the same command line, and times
- ready -> watched: from `/readyz` answering ok to every type watched again (each watcher LIVE,
  its gap closed, a new watch open);
- start -> watched: from the new process's start (kube-apiserver itself needs ~5 s to be ready);
- made -> stored: a ConfigMap created with kubectl after that, until the session stored it
  (kubectl's own start-up included).
The last line is JSON. The machine is shared: compare figures within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from khronoscope.cluster.options import ClusterOptions  # noqa: E402
from khronoscope.cluster.session import ClusterSession  # noqa: E402
from khronoscope.core.types import ObjectKey  # noqa: E402
from tests.e2e import kube  # noqa: E402
from tests.e2e.clusterkit import watched_again  # noqa: E402


async def _until(check, what: str, timeout: float = 120.0) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not after {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def _one(server: kube.KubeAPIServer, session: ClusterSession, outage: float) -> dict:
    before = {w.scope: w.watches for w in session.watchers()}
    lists_before = sum(w.lists for w in session.watchers())
    argv = await asyncio.to_thread(server.stop_apiserver)
    await asyncio.sleep(outage)
    started = time.monotonic()
    await asyncio.to_thread(server.start_apiserver, argv)
    ready = await asyncio.to_thread(server.wait_ready)
    watched = await _until(lambda: watched_again(session, before), "every type watched again")
    # and a change made now arrives (kubectl's own start-up is part of this figure)
    name = f"after-{uuid.uuid4().hex[:8]}"
    made = time.monotonic()
    await asyncio.to_thread(
        server.kubectl, "-n", "default", "create", "configmap", name, "--from-literal=a=1"
    )
    key = ObjectKey("configmaps", "default", name)
    seen = await _until(lambda: key in session.tmap, "the change after the restart")
    return {
        "outage_s": outage,
        "apiserver_start_to_ready_s": round(ready - started, 2),
        "ready_to_watched_s": round(watched - ready, 2),
        "start_to_watched_s": round(watched - started, 2),
        "change_made_to_stored_s": round(seen - made, 2),
        "types": len(session.watchers()),
        "relists": sum(w.lists for w in session.watchers()) - lists_before,
    }


async def _bench(server: kube.KubeAPIServer, outages: list[float]) -> list[dict]:
    session = ClusterSession(ClusterOptions(kubeconfig=str(server.kubeconfig)))
    await session.start()
    try:
        if not await session.wait_synced(120):
            raise RuntimeError("the session did not sync")
        while not all(w.watches for w in session.watchers()):
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)  # healthy for a while, as a long recording is
        runs = []
        for outage in outages:
            run = await _one(server, session, outage)
            print(
                f"outage {outage:g} s: kube-apiserver ready {run['apiserver_start_to_ready_s']} s "
                f"after its start; {run['types']} types watched again "
                f"{run['ready_to_watched_s']} s after ready ({run['start_to_watched_s']} s "
                f"after start, {run['relists']} relists); a change after it stored "
                f"{run['change_made_to_stored_s']} s after kubectl started",
                flush=True,
            )
            runs.append(run)
            await asyncio.sleep(3.0)
        return runs
    finally:
        await session.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", default="3,15,40", help="outage lengths in seconds")
    args = parser.parse_args()
    outages = [float(x) for x in args.outages.split(",") if x]
    server = kube.start(controller_manager=False)
    try:
        runs = asyncio.run(_bench(server, outages))
    finally:
        kube.stop(server.state)
    worst = max(r["ready_to_watched_s"] for r in runs)
    print(json.dumps({"bench": "reconnect", "runs": runs, "worst_ready_to_watched_s": worst}))


if __name__ == "__main__":
    main()
