"""Audit import benchmark: audit entries imported per second, bytes on disk per imported change.

    python bench/audit.py            # 200,000 entries (~1 GB of audit JSON)
    python bench/audit.py --quick    # 40,000 entries
    python bench/audit.py --quick --reads 20000   # and 20,000 list reads logged with bodies

The audit log is synthetic but shaped like a real one (kube-apiserver 1.20 JSON lines, a managed
cluster's policy): the changes of bench/stream.py (pods with managedFields moving through their
phases, node heartbeats, events, ConfigMap edits) as RequestResponse entries of creates, updates
(request and response bodies), status updates, patches and deletes (answered with a Status),
plus Metadata-only Secret/ConfigMap writes, scale writes answered with a Scale, and failed
requests. `--reads` adds list reads logged at RequestResponse level (a policy that logs
everything so), each answered with five objects (~30 KB): skipped, they show what a read
costs. Written once as plain JSON lines and once gzipped; each is imported into a new
recording with `khronoscope.audit.importer.import_new`, the command's code path.
Target (issue 16): >= 20,000 entries/s on the 2-core machine (shared: timings are noisy).
Prints one line per figure, then one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import orjson
from stream import stream

from khronoscope.audit.importer import import_new

_GROUPS = {"pods": "", "nodes": "", "events": "", "configmaps": ""}
_USERS = [
    ("system:serviceaccount:kube-system:replicaset-controller", "kube-controller-manager/v1.20.2"),
    ("system:node:node-1", "kubelet/v1.20.2 (linux/amd64) kubernetes/faecb19"),
    ("alice@example.com", "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07"),
    ("system:serviceaccount:argocd:argocd-application-controller", "argocd-application-controller"),
]


def _stamp(t: int) -> str:
    micros = t % 10**9 // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + f".{micros:06d}Z"


def _event(t, verb, key, level, code, req=None, resp=None, sub=None) -> dict:
    user, agent = _USERS[hash((key.name, verb)) % len(_USERS)]
    ref = {"resource": key.type.partition(".")[0], "name": key.name, "apiVersion": "v1"}
    if key.namespace:
        ref["namespace"] = key.namespace
    if sub:
        ref["subresource"] = sub
    ev = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": str(uuid.UUID(int=random.getrandbits(128))),
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/{key.namespace}/{ref['resource']}/{key.name}",
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.12"],
        "userAgent": agent,
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
    }
    if req is not None:
        ev["requestObject"] = req
    if resp is not None:
        ev["responseObject"] = resp
    ev["requestReceivedTimestamp"] = _stamp(t - 3_000_000)
    ev["stageTimestamp"] = _stamp(t)
    ev["annotations"] = {
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": "",
    }
    return ev


def generate(path: Path, entries: int, seed: int, reads: int = 0) -> dict:
    """Write `entries` audit entries to `path` (JSON lines), and `reads` list reads among
    them; returns what was written."""
    random.seed(seed)
    seen: set = set()
    n = writes = 0
    read_every = entries / reads if reads else 0.0
    next_read = read_every
    with open(path, "wb") as f:
        for t, key, obj in stream(max(entries // 100, 50), entries, seed):
            while reads and writes >= next_read and obj is not None:
                items = {"kind": "List", "apiVersion": "v1", "items": [obj] * 5}
                ev = _event(t - 1, "list", key, "RequestResponse", 200, None, items)
                f.write(orjson.dumps(ev) + b"\n")
                n += 1
                next_read += read_every
            r = random.random()
            if obj is None:
                status = {"kind": "Status", "apiVersion": "v1", "status": "Success"}
                opts = {"kind": "DeleteOptions"}
                ev = _event(t, "delete", key, "RequestResponse", 200, opts, status)
                seen.discard(key)
            elif key not in seen:
                ev = _event(t, "create", key, "RequestResponse", 201, obj, obj)
                seen.add(key)
            elif r < 0.05:
                ev = _event(t, "patch", key, "Metadata", 200)
                ev["objectRef"]["resource"] = "secrets"
            elif r < 0.08:
                ev = _event(t, "update", key, "RequestResponse", 409, obj, {"kind": "Status"})
            elif r < 0.10:
                scale = {
                    "kind": "Scale",
                    "apiVersion": "autoscaling/v1",
                    "spec": {"replicas": 3},
                    "metadata": {"name": key.name, "resourceVersion": "1"},
                }
                ev = _event(
                    t,
                    "patch",
                    key,
                    "RequestResponse",
                    200,
                    {"spec": {"replicas": 3}},
                    scale,
                    sub="scale",
                )
            elif r < 0.55:
                ev = _event(t, "update", key, "RequestResponse", 200, obj, obj, sub="status")
            else:
                patch = {"metadata": {"labels": {"bench": str(n)}}}
                ev = _event(t, "patch", key, "RequestResponse", 200, patch, obj)
            f.write(orjson.dumps(ev) + b"\n")
            n += 1
            writes += 1
    return {"entries": n, "bytes": path.stat().st_size}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_import(src: Path, out: Path, worker: bool | None = None) -> dict:
    c0, k0 = time.process_time(), _children_cpu()
    t0 = time.perf_counter()
    stats = import_new([src], out, worker=worker)
    took = time.perf_counter() - t0
    main_cpu, worker_cpu = time.process_time() - c0, _children_cpu() - k0
    return {
        "seconds": round(took, 2),
        "entries_per_s": round(stats.read.entries / took),
        # what each process needed: on a machine busy with other work the wall-clock rate
        # falls, these do not (the busier process bounds the rate with a core each)
        "main_cpu_s": round(main_cpu, 2),
        "worker_cpu_s": round(worker_cpu, 2),
        "entries_per_cpu_s_of_busier": round(stats.read.entries / max(main_cpu, worker_cpu)),
        "changes": stats.changes,
        "recording_bytes": out.stat().st_size,
        "bytes_per_change": round(out.stat().st_size / max(stats.changes, 1), 1),
        "skipped": dict(stats.skipped),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40,000 entries")
    ap.add_argument("--entries", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reads", type=int, default=0, help="list reads logged with bodies, too")
    args = ap.parse_args()
    entries = args.entries or (40_000 if args.quick else 200_000)
    with tempfile.TemporaryDirectory(prefix="khronoscope-bench-audit-") as d:
        plain = Path(d) / "audit.log"
        gen = generate(plain, entries, args.seed, args.reads)
        print(f"audit log: {gen['entries']:,} entries, {gen['bytes'] / 2**20:.0f} MiB of JSON")
        zipped = Path(d) / "audit-2024-05-01T10-00-00.000.log.gz"
        with open(plain, "rb") as src, gzip.open(zipped, "wb", compresslevel=6) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        result = {"entries": gen["entries"], "audit_bytes": gen["bytes"]}
        variants = (("plain", plain, None), ("gzip", zipped, None), ("one process", plain, False))
        for label, path, worker in variants:
            out = Path(d) / f"{label.replace(' ', '-')}.khr"
            figures = run_import(path, out, worker)
            print(
                f"import {label}: {figures['entries_per_s']:,} entries/s "
                f"({figures['seconds']} s; CPU: main {figures['main_cpu_s']} s, worker "
                f"{figures['worker_cpu_s']} s, i.e. {figures['entries_per_cpu_s_of_busier']:,} "
                f"entries/s with a core each), {figures['changes']:,} changes, "
                f"{figures['bytes_per_change']} B per imported change on disk"
            )
            result[label.replace(" ", "_")] = figures
        print(json.dumps(result))


if __name__ == "__main__":
    main()
