"""Object storage: what opening a recording in S3 costs a laptop, against a real S3 server
(RGW from shared/s3, or any endpoint in the AWS variables).

    S3_STATE=/tmp/s3 /work/shared/s3/cluster.sh start && set -a && . /tmp/s3/s3.env && set +a
    python bench/objectstore.py                          # a 1,000,000-change recording
    python bench/objectstore.py --changes 10000000       # the issue's size (~15 min to write)
    python bench/objectstore.py --recording DIR          # upload an existing recording
    python bench/objectstore.py --synthetic              # also the client micro-benchmarks

A recording of bench/stream.py's realistic mix (bench/longhistory.py's writer) is uploaded to
a new prefix, then opened through the same code as `khronoscope open s3://...` (the lazy source
over the on-disk block cache): at its end and at 20 random moments, each with an empty cache
(cold) and then again with the cache that open filled (warm: a new source, as a second
`khronoscope open` would be). An open is: list and read the footers, then the pods table's
first screen of rows at the moment. Printed per open: time, bytes fetched from the store and
as a percentage of the recording's bytes. Targets (issue 15): cold open at any t <= 3 s,
fetching <= 5% of the recording; warm <= 1 s. Ends with one JSON line
(`cold_open_s_median`, `cold_fetch_pct_median`, `warm_open_s_median`, ...).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
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


SCREEN_ROWS = 60


def _local_recording(args: argparse.Namespace, tmp: Path) -> Path:
    """--recording, else one written now as `khronoscope record` writes (in a child process)."""
    if args.recording:
        return Path(args.recording)
    path = tmp / "bench.khr"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "longhistory.py"), "--_write", str(path),
         str(args.changes)],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"wrote {args.changes:,} changes in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def upload_recording(path: Path, store: S3Store) -> tuple[int, float]:
    """Every object of a local recording (not its spool) to the store; (bytes, seconds)."""
    t0 = time.perf_counter()
    total = 0
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path).as_posix()
        if not f.is_file() or rel.startswith("wal/"):
            continue
        data = f.read_bytes()
        store.put(rel, data)
        total += len(data)
    return total, time.perf_counter() - t0


def recording_figures(url: str, stored: int, moments_n: int) -> dict[str, object]:
    """Opens of the recording at `url` at its end and random moments, cold then warm."""
    from khronoscope.printers import row_for
    from khronoscope.recording.remote import open_url
    from khronoscope.temporal import Cursor

    def one_open(cache: BlockCache, moment: int | None) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        opened = open_url(url, row_fn=row_for, cache=cache, stream=io.StringIO())
        tmap = opened.source.tmap
        at = tmap.last_t if moment is None else moment
        cursor = Cursor(tmap, "pods")
        cursor.seek(at)
        keys = sorted(cursor.versions, key=lambda k: (k.namespace, k.name))[:SCREEN_ROWS]
        rows = cursor.rows.pick(keys)
        assert len(rows) == len(keys) and keys, "no pods on the first screen"
        took = time.perf_counter() - t0
        opened.progress.close()
        return took, opened.progress.bytes, opened.progress.requests

    with tempfile.TemporaryDirectory() as tmp:
        probe = open_url(url, cache=BlockCache(Path(tmp) / "probe"), stream=io.StringIO())
        first, last = probe.source.tmap.first_t, probe.source.tmap.last_t
        segments = len(probe.source.segments)
        probe.progress.close()
        rng = random.Random(11)
        moments: list[int | None] = [None] + [
            rng.randrange(first, last) for _ in range(moments_n - 1)
        ]
        cold_s, cold_b, warm_s, warm_b, reqs = [], [], [], [], []
        for i, m in enumerate(moments):
            cache = BlockCache(Path(tmp) / f"c{i}", max_bytes=2 << 30)
            s, b, r = one_open(cache, m)
            cold_s.append(s)
            cold_b.append(b)
            reqs.append(r)
            s, b, _ = one_open(cache, m)
            warm_s.append(s)
            warm_b.append(b)
            what = "end" if m is None else f"t+{(m - first) / 1e9 / 3600:.2f} h"
            print(
                f"  open at {what:>9}: cold {cold_s[-1]:.2f} s, {cold_b[-1] / 2**20:.2f} MiB "
                f"({100 * cold_b[-1] / stored:.2f}%) in {r} requests; warm {s:.2f} s, "
                f"{b / 2**20:.3f} MiB",
                flush=True,
            )
    pct = [100.0 * b / stored for b in cold_b]
    print(
        f"recording: {segments} segments, {stored / 2**20:.1f} MiB, "
        f"{(last - first) / 1e9 / 3600:.1f} h; cold open {_ms(cold_s)}, fetching median "
        f"{statistics.median(pct):.2f}% (max {max(pct):.2f}%); warm open {_ms(warm_s)}"
    )
    return {
        "cold_open_s_median": round(statistics.median(cold_s), 3),
        "cold_open_s_max": round(max(cold_s), 3),
        "cold_open_end_s": round(cold_s[0], 3),
        "cold_fetch_pct_median": round(statistics.median(pct), 3),
        "cold_fetch_pct_max": round(max(pct), 3),
        "cold_fetch_mib_median": round(statistics.median(cold_b) / 2**20, 2),
        "cold_requests_median": statistics.median(reqs),
        "warm_open_s_median": round(statistics.median(warm_s), 3),
        "warm_fetch_mib_median": round(statistics.median(warm_b) / 2**20, 3),
        "recording_mib": round(stored / 2**20, 1),
        "segments": segments,
    }


def main() -> None:
    """Upload a recording, open it cold and warm; a JSON line at the end."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bucket", help="an existing bucket (default: a new one)")
    ap.add_argument("--changes", type=int, default=1_000_000, help="the recording's size")
    ap.add_argument("--recording", metavar="DIR", help="upload this recording instead")
    ap.add_argument("--keep", action="store_true", help="leave the objects in the bucket")
    ap.add_argument("--synthetic", action="store_true", help="also the client figures")
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
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        local = _local_recording(args, Path(tmp))
        stored, up_s = upload_recording(local, store)
    print(f"{url}: uploaded {stored / 2**20:.1f} MiB in {up_s:.1f} s", flush=True)
    figures["recording_upload_s"] = round(up_s, 1)
    figures["changes"] = None if args.recording else args.changes
    figures.update(recording_figures(url, stored, args.moments))
    if not args.keep:
        for b in list(store.list("")):
            store.delete(b.name)
    if args.synthetic:
        figures.update(synthetic(args, bucket))
    print(json.dumps(figures))


def synthetic(args: argparse.Namespace, bucket: str) -> dict[str, object]:
    """The client's own figures over synthetic segment-sized objects."""
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
    for b in list(store.list("")):
        store.delete(b.name)
    return figures


if __name__ == "__main__":
    main()
