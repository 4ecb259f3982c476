# ruff: noqa: E501  (the child script is kept compact: one line per client operation)
"""Which S3 client library khronoscope uses, by measurement: boto3, aiobotocore, s3fs, obstore.

Each client runs in its own fresh interpreter against the same bucket (a real S3 endpoint, e.g.
RGW from shared/s3) and reports what a recording reader and writer pay: import time and RSS,
ranged-GET latency (64 KiB at random offsets of a 4 MiB object, as a segment reader does),
small PUT (2 KiB), PUT If-None-Match (create-only), LIST of 1,000 keys, HEAD; and the installed
size of the client with every dependency khronoscope does not already have.

    set -a; . $S3_STATE/s3.env; set +a
    python bench/s3clients.py                         # clients importable by this python
    python bench/s3clients.py --python /tmp/venv/bin/python --n 200

Ends with one JSON line: per client, the medians in ms, MiB and seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid

CLIENTS = ("boto3", "aiobotocore", "s3fs", "obstore")
# khronoscope's own dependencies: a client's install size counts only what it adds
OURS = {"aiohttp", "aiosignal", "attrs", "frozenlist", "multidict", "yarl", "propcache",
        "aiohappyeyeballs", "idna", "typing-extensions", "typing_extensions", "pyyaml",
        "platformdirs", "urllib3", "six", "python-dateutil", "certifi"}  # fmt: skip

CHILD = r"""
import json, os, random, statistics, sys, time
client, bucket, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
rss0 = rss()
ep = os.environ["AWS_ENDPOINT_URL"]; region = os.environ.get("AWS_REGION", "us-east-1")
t0 = time.perf_counter()
if client == "boto3":
    import boto3
    from botocore.config import Config
elif client == "aiobotocore":
    import asyncio
    from aiobotocore.session import get_session
    from botocore.config import Config
elif client == "s3fs":
    import s3fs
elif client == "obstore":
    import obstore
    from obstore.store import S3Store
import_s = time.perf_counter() - t0
rss_import = rss()
random.seed(1)
blob = os.urandom(4 << 20)
small = os.urandom(2048)
res = {}

def timed(fn, k):
    out = []
    for i in range(k):
        t = time.perf_counter(); fn(i); out.append((time.perf_counter() - t) * 1000)
    return out

offsets = [random.randrange(0, (4 << 20) - 65536) for _ in range(n)]
tag = client
if client == "boto3":
    s3 = boto3.client("s3", endpoint_url=ep, region_name=region,
                      config=Config(s3={"addressing_style": "path"}))
    s3.put_object(Bucket=bucket, Key=f"{tag}/big", Body=blob)
    def rng(i):
        b = s3.get_object(Bucket=bucket, Key=f"{tag}/big", Range=f"bytes={offsets[i]}-{offsets[i]+65535}")["Body"].read()
        assert len(b) == 65536
    def put(i): s3.put_object(Bucket=bucket, Key=f"{tag}/small/{i:05d}", Body=small)
    def put_create(i): s3.put_object(Bucket=bucket, Key=f"{tag}/create/{i:05d}", Body=small, IfNoneMatch="*")
    def head(i): s3.head_object(Bucket=bucket, Key=f"{tag}/small/{i % n:05d}")
    def lst(i):
        keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="list/") for o in p.get("Contents", [])]
        assert len(keys) == 1000, len(keys)
    run = lambda fn: fn
elif client == "aiobotocore":
    loop = asyncio.new_event_loop()
    cm = get_session().create_client("s3", endpoint_url=ep, region_name=region,
                                     config=Config(s3={"addressing_style": "path"}))
    s3 = loop.run_until_complete(cm.__aenter__())
    async def _put(k, body, **kw): await s3.put_object(Bucket=bucket, Key=k, Body=body, **kw)
    loop.run_until_complete(_put(f"{tag}/big", blob))
    async def _rng(i):
        r = await s3.get_object(Bucket=bucket, Key=f"{tag}/big", Range=f"bytes={offsets[i]}-{offsets[i]+65535}")
        async with r["Body"] as body:
            assert len(await body.read()) == 65536
    async def _lst():
        keys = []
        async for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="list/"):
            keys += [o["Key"] for o in p.get("Contents", [])]
        assert len(keys) == 1000
    rng = lambda i: loop.run_until_complete(_rng(i))
    put = lambda i: loop.run_until_complete(_put(f"{tag}/small/{i:05d}", small))
    put_create = lambda i: loop.run_until_complete(_put(f"{tag}/create/{i:05d}", small, IfNoneMatch="*"))
    head = lambda i: loop.run_until_complete(s3.head_object(Bucket=bucket, Key=f"{tag}/small/{i % n:05d}"))
    lst = lambda i: loop.run_until_complete(_lst())
elif client == "s3fs":
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": ep, "region_name": region}, use_listings_cache=False)
    fs.pipe_file(f"{bucket}/{tag}/big", blob)
    def rng(i):
        assert len(fs.cat_file(f"{bucket}/{tag}/big", start=offsets[i], end=offsets[i] + 65536)) == 65536
    def put(i): fs.pipe_file(f"{bucket}/{tag}/small/{i:05d}", small)
    def put_create(i): fs.pipe_file(f"{bucket}/{tag}/create/{i:05d}", small, mode="create")
    def head(i): fs.info(f"{bucket}/{tag}/small/{i % n:05d}")
    def lst(i):
        fs.invalidate_cache()
        assert len(fs.ls(f"{bucket}/list/", detail=False)) == 1000
elif client == "obstore":
    st = S3Store(bucket, endpoint=ep, region=region, client_options={"allow_http": True})
    obstore.put(st, f"{tag}/big", blob)
    def rng(i):
        assert len(obstore.get_range(st, f"{tag}/big", start=offsets[i], end=offsets[i] + 65536)) == 65536
    def put(i): obstore.put(st, f"{tag}/small/{i:05d}", small)
    def put_create(i): obstore.put(st, f"{tag}/create/{i:05d}", small, mode="create")
    def head(i): obstore.head(st, f"{tag}/small/{i % n:05d}")
    def lst(i):
        assert sum(len(b) for b in obstore.list(st, prefix="list/")) == 1000

first = timed(rng, 1)[0]  # connection set-up
for name, fn, k in (("range_get_64k", rng, n), ("put_2k", put, n), ("put_if_none_match", put_create, n),
                    ("head", head, n), ("list_1000", lst, max(3, n // 20))):
    ms = sorted(timed(fn, k))
    res[name + "_ms_median"] = round(statistics.median(ms), 2)
    res[name + "_ms_p95"] = round(ms[int(len(ms) * 0.95) - 1], 2)
res.update(first_request_ms=round(first, 1), import_s=round(import_s, 3), rss_base_mib=round(rss0, 1),
           rss_after_import_mib=round(rss_import, 1), rss_after_ops_mib=round(rss(), 1))
print(json.dumps(res))
"""

SIZE = r"""
import json, re, sys
from importlib import metadata
ours = set(json.loads(sys.argv[2]))
def norm(n): return n.lower().replace("_", "-")
seen, todo = set(), [sys.argv[1]]
while todo:
    name = norm(todo.pop())
    if name in seen or name in ours:
        continue
    try:
        d = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    seen.add(name)
    for req in d.requires or []:
        if "extra ==" in req:
            continue
        todo.append(re.match(r"[A-Za-z0-9_.-]+", req).group(0))
total = 0
for name in seen:
    for f in metadata.distribution(name).files or []:
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
print(json.dumps({"install_mib": round(total / 2**20, 1), "dists": sorted(seen)}))
"""


def main() -> None:
    """Seed a bucket, run each client in a fresh interpreter, print a table and a JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable, help="interpreter that has the clients")
    ap.add_argument("--n", type=int, default=100, help="requests per operation")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    args = ap.parse_args()
    if "AWS_ENDPOINT_URL" not in os.environ:
        sys.exit("set AWS_ENDPOINT_URL and credentials (e.g. . $S3_STATE/s3.env)")
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    bucket = f"clients-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for i in range(1000):
        s3.put_object(Bucket=bucket, Key=f"list/{i:05d}", Body=b"x")
    results: dict[str, dict] = {}
    for client in args.clients.split(","):
        out = subprocess.run(
            [args.python, "-c", CHILD, client, bucket, str(args.n)], capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"{client}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        res = json.loads(out.stdout.strip().splitlines()[-1])
        size = subprocess.run(
            [args.python, "-c", SIZE, client, json.dumps(sorted(OURS))],
            capture_output=True,
            text=True,
            check=True,
        )
        res.update(json.loads(size.stdout))
        results[client] = res
        print(
            f"{client:12} import {res['import_s'] * 1000:6.0f} ms  RSS +{res['rss_after_import_mib'] - res['rss_base_mib']:5.1f} MiB"
            f" (after ops {res['rss_after_ops_mib']:.0f})  range64k {res['range_get_64k_ms_median']:5.1f}"
            f"/{res['range_get_64k_ms_p95']:5.1f} ms  put2k {res['put_2k_ms_median']:5.1f}"
            f"  put-create {res['put_if_none_match_ms_median']:5.1f}  head {res['head_ms_median']:4.1f}"
            f"  list1000 {res['list_1000_ms_median']:6.1f} ms  install {res['install_mib']} MiB"
            f" ({', '.join(res['dists'])})"
        )
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in p.get("Contents", [])]  # fmt: skip
    for i in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]}
        )
    s3.delete_bucket(Bucket=bucket)
    print(json.dumps({c: {k: v for k, v in r.items() if k != "dists"} for c, r in results.items()}))


if __name__ == "__main__":
    main()
