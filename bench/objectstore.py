"""Object storage: what the S3 client and the on-disk cache cost a reader, against a real S3
server (RGW from shared/s3, or any endpoint in the AWS variables).

    S3_STATE=/tmp/s3 /work/shared/s3/cluster.sh start && set -a && . /tmp/s3/s3.env && set +a
    python bench/objectstore.py                       # synthetic segments, 20 moments
    python bench/objectstore.py --objects 40 --object-mib 16 --moments 50

Printed: PUT throughput of segment-sized objects, ranged-GET and LIST latency through
S3Store; then, for a workload of "opens" (each reads an index and a few byte ranges of the
objects around one moment), the time and bytes per open with an empty cache (cold) and again
with the cache filled (warm), and the share of the stored bytes each open fetched.

The workload is a `Workload`: today the synthetic one below, which reads the way a segment
reader will (an index, then 192 KiB blocks of the segments around the moment). When the
segmented recording lands (issue 14), a `SegmentedRecording` workload uploads a recording
generated like bench/longhistory.py's and opens it through the real lazy source at its end and
at 20 random moments; its figures are the issue's `cold_open_s_median`,
`cold_fetch_pct_median` and `warm_open_s_median`, printed as null until then.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from khronoscope.storage import BlobStore  # noqa: E402
from khronoscope.storage.cache import DEFAULT_BLOCK, BlockCache, CachedStore  # noqa: E402
from khronoscope.storage.s3 import S3Store  # noqa: E402


class Workload(Protocol):
    """Something to upload once and open at moments (cold, then warm)."""

    name: str

    def upload(self, store: BlobStore) -> int:
        """Write the objects; returns the bytes stored."""
        ...

    def moments(self, n: int) -> list[float]:
        """`n` moments to open (0..1 along the recording), the end first."""
        ...

    def open_at(self, store: BlobStore, moment: float) -> None:
        """Read what showing `moment` needs."""
        ...

    def immutable(self, name: str) -> bool:
        """Names written once (cached)."""
        ...


class SyntheticSegments:
    """Segment-sized objects plus a small index; an open reads the index and a few 192 KiB
    blocks of the two segments around the moment, as a segment reader will."""

    name = "synthetic segments"

    def __init__(self, objects: int, object_bytes: int, seed: int = 1) -> None:
        self.objects = objects
        self.object_bytes = object_bytes
        self.rng = random.Random(seed)

    def upload(self, store: BlobStore) -> int:
        """Segments of half-compressible bytes, then the index."""
        total = 0
        for i in range(self.objects):
            half = self.object_bytes // 2
            data = os.urandom(half) + bytes(self.object_bytes - half)
            store.put(f"segments/{i:06d}.seg", data)
            total += len(data)
        index = json.dumps(
            [
                {"name": f"segments/{i:06d}.seg", "size": self.object_bytes}
                for i in range(self.objects)
            ]
        ).encode()
        store.put("index/000001.idx", index)
        return total + len(index)

    def moments(self, n: int) -> list[float]:
        """The end, then random moments."""
        return [1.0] + [self.rng.random() for _ in range(n - 1)]

    def open_at(self, store: BlobStore, moment: float) -> None:
        """Index, then 4 blocks of the segment at the moment and 2 of the one before."""
        json.loads(store.get("index/000001.idx"))
        i = min(self.objects - 1, int(moment * self.objects))
        block = 192 << 10
        rng = random.Random(int(moment * 1e9))
        for seg, blocks in ((i, 4), (max(0, i - 1), 2)):
            name = f"segments/{seg:06d}.seg"
            for _ in range(blocks):
                start = rng.randrange(0, self.object_bytes - block)
                store.get_range(name, start, block)

    def immutable(self, name: str) -> bool:
        """Sealed segments and indexes."""
        return name.startswith(("segments/", "index/"))


def _bucket(create: str | None) -> str:
    """The bucket to use: --bucket, else a new one (boto3 creates it: obstore cannot)."""
    if create:
        return create
    import boto3
    from botocore.config import Config

    name = f"bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket=name)
    return name


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def client_figures(store: S3Store, n: int) -> dict[str, float]:
    """Ranged GET of 64 KiB and LIST, through S3Store."""
    names = [b.name for b in store.list("segments/")]
    sizes = {b.name: b.size for b in store.list("segments/")}
    rng = random.Random(2)
    gets = []
    for _ in range(n):
        name = rng.choice(names)
        start = rng.randrange(0, sizes[name] - 65536)
        t0 = time.perf_counter()
        store.get_range(name, start, 65536)
        gets.append(time.perf_counter() - t0)
    lists = []
    for _ in range(5):
        t0 = time.perf_counter()
        list(store.list(""))
        lists.append(time.perf_counter() - t0)
    print(f"ranged GET 64 KiB: {_ms(gets)}; LIST of {len(names) + 1} objects: {_ms(lists)}")
    return {
        "range_get_ms_median": round(statistics.median(gets) * 1000, 2),
        "list_ms_median": round(statistics.median(lists) * 1000, 2),
    }


def open_figures(
    workload: Workload, store: S3Store, stored: int, n: int, block: int
) -> dict[str, float]:
    """Cold (empty cache) and warm opens at `n` moments."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = BlockCache(Path(tmp), max_bytes=2 << 30, block_size=block)
        cached = CachedStore(store, cache, workload.immutable, namespace=store.identity)
        cold_s, cold_bytes, warm_s, warm_bytes = [], [], [], []
        moments = workload.moments(n)
        for m in moments:
            before = cache.stats.fetched_bytes
            t0 = time.perf_counter()
            workload.open_at(cached, m)
            cold_s.append(time.perf_counter() - t0)
            cold_bytes.append(cache.stats.fetched_bytes - before)
        for m in moments:
            before = cache.stats.fetched_bytes
            t0 = time.perf_counter()
            workload.open_at(cached, m)
            warm_s.append(time.perf_counter() - t0)
            warm_bytes.append(cache.stats.fetched_bytes - before)
        pct = [100.0 * b / stored for b in cold_bytes]
        print(
            f"{workload.name}: cold open {_ms(cold_s)}, fetched median "
            f"{statistics.median(cold_bytes) / 2**20:.2f} MiB ({statistics.median(pct):.3f}% of "
            f"{stored / 2**20:.0f} MiB stored); warm open {_ms(warm_s)}, fetched "
            f"{sum(warm_bytes)} B in all; cache {cache.usage() / 2**20:.1f} MiB"
        )
        return {
            "cold_open_s_median": round(statistics.median(cold_s), 4),
            "cold_fetch_pct_median": round(statistics.median(pct), 4),
            "warm_open_s_median": round(statistics.median(warm_s), 4),
            "warm_fetched_bytes": sum(warm_bytes),
        }


def main() -> None:
    """Upload, measure the client, open cold and warm; a JSON line at the end."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bucket", help="an existing bucket (default: a new one)")
    ap.add_argument("--objects", type=int, default=20)
    ap.add_argument("--object-mib", type=int, default=8)
    ap.add_argument("--moments", type=int, default=21, help="opens: the end + random moments")
    ap.add_argument("--gets", type=int, default=200)
    ap.add_argument("--block-kib", type=int, default=DEFAULT_BLOCK >> 10, help="cache block")
    args = ap.parse_args()
    if "AWS_ENDPOINT_URL" not in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ:
        sys.exit("set the AWS variables (e.g. set -a; . $S3_STATE/s3.env; set +a)")
    bucket = _bucket(args.bucket)
    url = f"s3://{bucket}/bench/{uuid.uuid4().hex[:6]}"
    store = S3Store(url)
    workload = SyntheticSegments(args.objects, args.object_mib << 20)
    t0 = time.perf_counter()
    stored = workload.upload(store)
    up_s = time.perf_counter() - t0
    print(
        f"{url}: uploaded {args.objects} x {args.object_mib} MiB in {up_s:.1f} s "
        f"({stored / 2**20 / up_s:.0f} MiB/s)"
    )
    figures: dict[str, object] = {"upload_mib_s": round(stored / 2**20 / up_s, 1)}
    figures.update(client_figures(store, args.gets))
    figures.update(
        {
            f"synthetic_{k}": v
            for k, v in open_figures(
                workload, store, stored, args.moments, args.block_kib << 10
            ).items()
        }
    )
    # the figures need the segmented recording (issue 14): not measured yet
    print("segmented recording: not built yet (issue 14): opens of a real recording not measured")
    figures.update(cold_open_s_median=None, cold_fetch_pct_median=None, warm_open_s_median=None)
    for b in list(store.list("")):
        store.delete(b.name)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
