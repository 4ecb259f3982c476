"""The uploader: sealed files reach the store in order, survive a store outage and a restart,
and an overflowing spool drops the oldest with notice."""

from __future__ import annotations

import os
import random
import threading
import time

from khronoscope.storage import StoreError
from khronoscope.storage.local import LocalStore
from khronoscope.storage.uploader import Backoff, Uploader

FAST = Backoff(base=0.01, cap=0.05)


class FlakyStore(LocalStore):
    """A LocalStore that can be 'down' (every PUT fails with a StoreError, as S3Store's do)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.down = threading.Event()
        self.attempts = 0

    def put(self, name: str, data: bytes) -> None:
        self.attempts += 1
        if self.down.is_set():
            raise StoreError(f"cannot write {self.url}/{name}: HTTP error: connection refused")
        super().put(name, data)


def _sealed(tmp_path, i: int, size: int = 1000) -> tuple:
    path = tmp_path / "sealed" / f"seg-{i}"
    path.parent.mkdir(exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return path, data


def test_sealed_files_are_uploaded_in_order_and_leave_the_spool(tmp_path):
    store = FlakyStore(tmp_path / "store")
    order: list[str] = []
    up = Uploader(
        store, tmp_path / "spool", 1 << 20, backoff=FAST, on_uploaded=lambda n, _s: order.append(n)
    )
    up.start()
    want = {}
    for i in range(5):
        path, data = _sealed(tmp_path, i)
        up.submit(path, f"segments/{i:04d}")
        want[f"segments/{i:04d}"] = data
        assert not path.exists()  # the file is the uploader's now
    assert up.drain(10)
    stats = up.close()
    assert order == sorted(want)
    assert {n: store.get(n) for n in want} == want
    assert (stats.uploaded_objects, stats.uploaded_bytes, stats.backlog_bytes) == (5, 5000, 0)
    assert os.listdir(tmp_path / "spool") == []


def test_an_outage_loses_nothing_and_the_backlog_shows_it(tmp_path):
    store = FlakyStore(tmp_path / "store")
    store.down.set()
    up = Uploader(store, tmp_path / "spool", 1 << 20, backoff=FAST)
    up.start()
    want = {}
    for i in range(4):
        path, data = _sealed(tmp_path, i)
        up.submit(path, f"seg/{i}")
        want[f"seg/{i}"] = data
    time.sleep(0.3)
    s = up.stats()
    assert (s.backlog_bytes, s.backlog_objects, s.uploaded_objects) == (4000, 4, 0)
    assert s.retrying and "connection refused" in s.last_error and s.failures >= 2
    assert s.describe().startswith("upload backlog 4 (3.9 KiB), retrying: cannot write ")
    store.down.clear()
    assert up.drain(10)
    s = up.close()
    assert {n: store.get(n) for n in want} == want
    assert (s.backlog_bytes, s.retrying, s.last_error) == (0, False, "")
    assert s.describe() == ""


def test_a_restart_uploads_what_the_last_run_spooled(tmp_path):
    store = FlakyStore(tmp_path / "store")
    store.down.set()
    first = Uploader(store, tmp_path / "spool", 1 << 20, backoff=FAST)
    first.start()
    want = {}
    for i in range(3):
        path, data = _sealed(tmp_path, i)
        first.submit(path, f"clusters/prod/seg {i}")  # a name that needs quoting on disk
        want[f"clusters/prod/seg {i}"] = data
    first.close()  # the recorder stopped (or was killed) with the store down
    store.down.clear()
    order: list[str] = []
    second = Uploader(store, tmp_path / "spool", 1 << 20, on_uploaded=lambda n, _s: order.append(n))
    assert second.stats().backlog_objects == 3
    second.start()
    path, data = _sealed(tmp_path, 9)
    second.submit(path, "clusters/prod/seg 9")
    want["clusters/prod/seg 9"] = data
    assert second.drain(10)
    second.close()
    assert order == sorted(want)  # the old ones first, then the new one
    assert {n: store.get(n) for n in want} == want


def test_a_full_spool_drops_the_oldest_and_says_so(tmp_path):
    store = FlakyStore(tmp_path / "store")
    store.down.set()
    dropped: list[tuple[str, int]] = []
    up = Uploader(
        store, tmp_path / "spool", 3500, backoff=FAST, on_drop=lambda n, s: dropped.append((n, s))
    )
    for i in range(5):
        path, _ = _sealed(tmp_path, i)
        up.submit(path, f"seg/{i}")
    s = up.stats()
    assert dropped == [("seg/0", 1000), ("seg/1", 1000)]
    assert (s.backlog_bytes, s.dropped_objects, s.dropped_bytes) == (3000, 2, 2000)
    assert s.describe().endswith(", 2 dropped (spool full)")
    assert len(os.listdir(tmp_path / "spool")) == 3


def test_nothing_is_written_while_the_lease_is_not_held(tmp_path):
    store = FlakyStore(tmp_path / "store")
    held = threading.Event()
    up = Uploader(store, tmp_path / "spool", 1 << 20, may_write=held.is_set, backoff=FAST)
    up.start()
    path, _ = _sealed(tmp_path, 0)
    up.submit(path, "seg/0")
    time.sleep(0.3)
    assert store.attempts == 0 and up.stats().backlog_objects == 1
    held.set()
    up.wake()
    assert up.drain(5)
    up.close()
    assert store.stat("seg/0") is not None


def test_backoff_grows_to_its_cap_with_jitter():
    b = Backoff(base=0.5, cap=30.0, jitter=0.5)
    rng = random.Random(1)
    delays = [b.delay(n, rng) for n in range(12)]
    assert all(0.25 <= d <= 0.5 for d in delays[:1])
    assert all(15.0 <= d <= 30.0 for d in delays[7:])
    assert len({round(d, 6) for d in delays[7:]}) == len(delays[7:])  # jittered, not in step
