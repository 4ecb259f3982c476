"""The recorder in steady state: CPU and RSS of `khronoscope record` per 1,000 changes/s, the
figures the Deployment's requests and limits in deploy/ are sized from.

    python bench/recorder.py                       # churn 0, 250, 500, 1000 changes/s, 40 s each
    python bench/recorder.py --rates 0,1000 --seconds 60 --pods 5000
    python bench/recorder.py --to s3://BUCKET/bench   # recording to object storage (AWS vars)

The simulated cluster (scale scenario, its clock running) serves from a child process; the
recorder runs as a user runs it (`record -o FILE --listen`), and its own figures are read from
/proc (CPU) and from its /metrics (changes ingested), after a warm-up. Both share 2 cores with
other work on this machine: the figures are noisy, compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
_TICK = os.sysconf("SC_CLK_TCK")


async def _serve(pods: int, churn: int) -> None:
    from khronoscope.sim import SimCluster

    sim = SimCluster(
        "scale", scenario_options={"pods": pods, "nodes": max(10, pods // 100), "churn": churn}
    )
    await sim.start()
    print(json.dumps({"kubeconfig": str(sim.kubeconfig_path)}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await sim.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _changes(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(
        float(m.group(1))
        for m in re.finditer(r"^khronoscope_changes_total\{[^}]*\} (\S+)$", text, re.M)
    )


def measure(
    rate: int, pods: int, seconds: float, warmup: float, to: str | None = None
) -> dict[str, float]:
    """One run at `rate` offered changes/s: achieved rate, CPU cores, RSS."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--pods", str(pods), "--rate", str(rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    kubeconfig = json.loads(server.stdout.readline())["kubeconfig"]
    with tempfile.TemporaryDirectory() as tmp:
        rec = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "khronoscope",
                "record",
                "-o",
                f"{to.rstrip('/')}/rate-{rate}-{os.getpid()}-{int(time.time())}"
                if to
                else f"{tmp}/r.khr",
                "--kubeconfig",
                kubeconfig,
                "--listen",
                "127.0.0.1:0",
                "--status-every",
                "5",
            ],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
            # spools and cache in the run's own directory
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "XDG_STATE_HOME": tmp,
                "XDG_CACHE_HOME": tmp,
            },
        )
        try:
            assert rec.stderr is not None
            port = 0
            while not port:
                line = rec.stderr.readline()
                if not line:
                    raise RuntimeError("the recorder ended")
                if m := re.search(r"serving /healthz.* port (\d+)", line):
                    port = int(m.group(1))
            # drain stderr so the recorder never blocks on it
            import threading

            threading.Thread(target=rec.stderr.read, daemon=True).start()
            time.sleep(warmup)
            c0, n0, t0 = _cpu_s(rec.pid), _changes(port), time.monotonic()
            rss: list[float] = []
            while time.monotonic() - t0 < seconds:
                time.sleep(1.0)
                rss.append(_rss_mib(rec.pid))
            c1, n1, t1 = _cpu_s(rec.pid), _changes(port), time.monotonic()
        finally:
            rec.terminate()
            rec.wait(30)
            server.stdin.close()
            server.wait(30)
    dt = t1 - t0
    return {
        "offered": rate,
        "changes_per_s": round((n1 - n0) / dt, 1),
        "cpu_cores": round((c1 - c0) / dt, 3),
        "rss_mib_mean": round(sum(rss) / len(rss), 1),
        "rss_mib_max": round(max(rss), 1),
    }


def main() -> None:
    """Run each rate, print a line per rate, the slopes and a JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="0,250,500,1000")
    ap.add_argument("--pods", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--to", metavar="s3://BUCKET/PREFIX", help="record to object storage")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.pods, args.rate))
        return
    runs = []
    for rate in (int(r) for r in args.rates.split(",")):
        r = measure(rate, args.pods, args.seconds, args.warmup, args.to)
        runs.append(r)
        print(
            f"offered {rate:>5}/s: recorded {r['changes_per_s']:>7,.1f} changes/s, "
            f"CPU {r['cpu_cores']:.3f} cores, RSS {r['rss_mib_mean']:.0f} MiB "
            f"(max {r['rss_mib_max']:.0f}) with {args.pods} pods",
            flush=True,
        )
    idle, busy = runs[0], runs[-1]
    span = busy["changes_per_s"] - idle["changes_per_s"]
    slope_cpu = (busy["cpu_cores"] - idle["cpu_cores"]) / span * 1000 if span > 0 else 0.0
    slope_rss = (busy["rss_mib_max"] - idle["rss_mib_max"]) / span * 1000 if span > 0 else 0.0
    print(
        f"per 1,000 changes/s: +{slope_cpu:.2f} cores, +{slope_rss:.0f} MiB RSS "
        f"(idle: {idle['cpu_cores']:.3f} cores, {idle['rss_mib_max']:.0f} MiB)"
    )
    print(
        json.dumps(
            {
                "runs": runs,
                "cpu_cores_per_1k_changes_s": round(slope_cpu, 3),
                "rss_mib_per_1k_changes_s": round(slope_rss, 1),
                "idle_cpu_cores": idle["cpu_cores"],
                "idle_rss_mib": idle["rss_mib_max"],
            }
        )
    )


if __name__ == "__main__":
    main()
