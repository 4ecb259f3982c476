"""The on-disk cache of immutable objects: what it fetches, keeps, evicts, and never caches."""

from __future__ import annotations

import multiprocessing
import os
import random
import time

from khronoscope.storage import BlobNotFound
from khronoscope.storage.cache import BlockCache, CachedStore, default_cache_dir
from khronoscope.storage.local import LocalStore


class CountingStore(LocalStore):
    """A LocalStore that counts the bytes and requests a reader costs (a stand-in for S3)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.requests: list[tuple[str, int, int]] = []

    def get_range(self, name: str, start: int, length: int) -> bytes:
        self.requests.append((name, start, length))
        return super().get_range(name, start, length)

    def get(self, name: str) -> bytes:
        self.requests.append((name, 0, -1))
        return super().get(name)


def _segments(name: str) -> bool:
    return name.startswith("seg/")


def _setup(tmp_path, max_bytes=1 << 20, block=1024):
    remote = CountingStore(tmp_path / "remote")
    cache = BlockCache(tmp_path / "cache", max_bytes=max_bytes, block_size=block)
    return remote, cache, CachedStore(remote, cache, _segments, namespace="ns")


def test_a_second_read_of_an_immutable_range_costs_no_request(tmp_path):
    remote, cache, store = _setup(tmp_path)
    data = os.urandom(10_000)
    remote.put("seg/1", data)
    assert store.get_range("seg/1", 1500, 3000) == data[1500:4500]
    assert remote.requests == [("seg/1", 1024, 4096)]  # one GET for the run of missing blocks
    remote.requests.clear()
    assert store.get_range("seg/1", 2000, 2000) == data[2000:4000]
    assert remote.requests == []
    # only the blocks around the range were fetched, not the object
    assert cache.stats.fetched_bytes == 4096
    # a range that overlaps cached and missing blocks fetches only the missing ones
    assert store.get_range("seg/1", 4000, 2000) == data[4000:6000]
    assert remote.requests == [("seg/1", 5120, 1024)]


def test_the_end_of_an_object_is_remembered(tmp_path):
    remote, _cache, store = _setup(tmp_path)
    data = os.urandom(2500)
    remote.put("seg/1", data)
    assert store.get_range("seg/1", 2000, 5000) == data[2000:]
    remote.requests.clear()
    assert store.get_range("seg/1", 2400, 1000) == data[2400:]
    assert store.get_range("seg/1", 3000, 10) == b""
    assert store.get("seg/1") == data  # size known: only block 0 is fetched
    assert remote.requests == [("seg/1", 0, 1024)]
    remote.requests.clear()
    assert store.get("seg/1") == data
    assert remote.requests == []


def test_a_whole_get_is_kept_too(tmp_path):
    remote, _cache, store = _setup(tmp_path)
    data = os.urandom(3000)
    remote.put("seg/2", data)
    assert store.get("seg/2") == data
    remote.requests.clear()
    assert store.get("seg/2") == data
    assert store.get_range("seg/2", 100, 50) == data[100:150]
    assert remote.requests == []


def test_objects_that_can_change_are_never_cached(tmp_path):
    remote, cache, store = _setup(tmp_path)
    remote.put("lease/current", b"holder A")
    assert store.get("lease/current") == b"holder A"
    remote.put("lease/current", b"holder B")
    assert store.get("lease/current") == b"holder B"
    assert store.get_range("lease/current", 7, 1) == b"B"
    assert cache.usage() == 0


def test_a_missing_object_is_not_found_and_not_cached(tmp_path):
    _remote, cache, store = _setup(tmp_path)
    for read in (lambda: store.get_range("seg/9", 0, 10), lambda: store.get("seg/9")):
        try:
            read()
        except BlobNotFound:
            pass
        else:
            raise AssertionError("a missing object was read")
    assert cache.usage() == 0


def test_the_cache_stays_under_its_cap_dropping_least_recently_used(tmp_path):
    remote, cache, store = _setup(tmp_path, max_bytes=20 * 1024, block=1024)
    for i in range(6):
        remote.put(f"seg/{i}", os.urandom(4096))
    for i in range(4):
        store.get(f"seg/{i}")
    hour_ago = time.time() - 3600
    for i in range(4):  # read an hour ago, seg/0 first
        for f in cache._object_dir("ns", f"seg/{i}").iterdir():
            os.utime(f, (hour_ago + i, hour_ago + i))
    remote.requests.clear()
    store.get("seg/0")  # read again now: a hit, and the most recently used
    assert remote.requests == []
    store.get("seg/4")
    store.get("seg/5")  # 24 KiB read in all: over the cap
    assert cache.usage() <= 20 * 1024
    remote.requests.clear()
    for i in (0, 4, 5):
        store.get(f"seg/{i}")
    assert remote.requests == []  # the recently read ones stayed
    store.get("seg/1")
    assert remote.requests == [("seg/1", 0, -1)]  # the least recently used one went


def test_files_are_private(tmp_path):
    _remote, cache, store = _setup(tmp_path)
    _remote.put("seg/1", b"cluster state")
    store.get("seg/1")
    for dirpath, _dirs, files in os.walk(cache.root):
        assert os.stat(dirpath).st_mode & 0o777 == 0o700
        for f in files:
            if f != ".lock":
                assert os.stat(os.path.join(dirpath, f)).st_mode & 0o777 == 0o600


def test_the_default_place_is_the_xdg_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "khronoscope" / "objects"


def _reader(args) -> int:
    root, cache_root, seed = args
    rng = random.Random(seed)
    remote = LocalStore(root)
    cache = BlockCache(cache_root, max_bytes=64 * 1024, block_size=1024)
    store = CachedStore(remote, cache, _segments, namespace="ns")
    bad = 0
    for _ in range(300):
        i = rng.randrange(16)
        start = rng.randrange(8192)
        n = rng.randrange(1, 4096)
        want = remote.get(f"seg/{i}")[start : start + n]
        if store.get_range(f"seg/{i}", start, n) != want:
            bad += 1
    return bad


def test_processes_sharing_a_small_cache_always_read_the_right_bytes(tmp_path):
    remote = LocalStore(tmp_path / "remote")
    for i in range(16):
        remote.put(f"seg/{i}", os.urandom(8192 + i * 100))
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        bad = pool.map(_reader, [(tmp_path / "remote", tmp_path / "cache", s) for s in range(4)])
    assert bad == [0, 0, 0, 0]
    cache = BlockCache(tmp_path / "cache", max_bytes=64 * 1024, block_size=1024)
    # each process measures the cache after writing a tenth of the cap: a little overshoot
    assert cache.usage() <= 64 * 1024 * 1.5
    assert not [p for p in (tmp_path / "cache").rglob(".tmp-*")]


def test_a_cache_that_cannot_be_written_still_reads(tmp_path):
    remote = LocalStore(tmp_path / "remote")
    (tmp_path / "blocked").write_text("a file where the cache dir should be")
    cache = BlockCache(tmp_path / "blocked" / "cache", max_bytes=1 << 20, block_size=1024)
    store = CachedStore(remote, cache, _segments)
    data = os.urandom(5000)
    remote.put("seg/1", data)
    assert store.get_range("seg/1", 100, 3000) == data[100:3100]
    assert store.get("seg/1") == data
