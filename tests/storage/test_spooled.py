"""A recorder's store through an object-storage outage: it seals (bases carrying old versions
forward read back what it wrote) without ever reaching the store, and once the store is back
the recording there reads as the live map did."""

from __future__ import annotations

import random
import threading

from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind
from khronoscope.recording.segments.catalog import SegmentedRecording
from khronoscope.recording.segments.history import LazyHistory
from khronoscope.recording.segments.writer import SegmentedWriter
from khronoscope.storage import BlobInfo, StoreError
from khronoscope.storage.cache import BlockCache
from khronoscope.storage.local import LocalStore
from khronoscope.storage.spooled import SpooledStore
from khronoscope.storage.uploader import Backoff, Uploader
from khronoscope.temporal import TemporalMap
from tests.recording.test_segments import KEYS, T0, row_of, small_segments


class DownStore(LocalStore):
    """A LocalStore that can be unreachable: every call then fails as S3Store's do."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.down = threading.Event()
        self.reads_while_down = 0  # anything but the uploader's PUTs

    def _check(self, op: str) -> None:
        if self.down.is_set():
            if op not in ("write", "delete"):  # the uploader's and the deleter's retries
                self.reads_while_down += 1
            raise StoreError(f"cannot {op} {self.url}: connection refused")

    def put(self, name: str, data: bytes) -> None:
        self._check("write")
        super().put(name, data)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        self._check("create")
        return super().put_if_absent(name, data)

    def get(self, name: str) -> bytes:
        self._check("read")
        return super().get(name)

    def get_range(self, name: str, start: int, length: int) -> bytes:
        self._check("read")
        return super().get_range(name, start, length)

    def stat(self, name: str) -> BlobInfo | None:
        self._check("stat")
        return super().stat(name)

    def list(self, prefix: str = ""):
        self._check("list")
        return super().list(prefix)

    def delete(self, name: str) -> None:
        self._check("delete")
        super().delete(name)


def test_an_outage_costs_the_writer_nothing_and_the_store_gets_everything(tmp_path):
    remote = DownStore(tmp_path / "bucket")
    store = SpooledStore(
        remote, BlockCache(tmp_path / "cache"), lambda n: True, "test", tmp_path / "staging"
    )
    uploader = Uploader(remote, tmp_path / "spool", 64 << 20, backoff=Backoff(0.01, 0.05))
    store.attach(uploader)
    uploader.start()
    # small segments, a base every 3 referring back at most 5: bases carry old versions,
    # read back from what was written during the outage
    options = small_segments(seal_raw=1200)
    w = SegmentedWriter.create(
        store, tmp_path / "wal", SourceInfo("c", "ctx"), start=T0, writer_options=options
    )
    live = TemporalMap(row_fn=row_of)
    rnd = random.Random(4)
    t = T0
    obj = {"metadata": {"name": "settings", "namespace": "shop"}, "v": 0}
    live.put(KEYS[4], t + 1, obj)
    w.append_change(Change(t + 1, KEYS[4], ChangeKind.ADDED, obj))  # never changes again
    assert uploader.drain(10)
    remote.down.set()
    for _ in range(600):
        t += rnd.randrange(1, 10**9)
        key = KEYS[rnd.randrange(0, 4)]
        value = rnd.randrange(4)
        o = {"metadata": {"name": key.name, "namespace": key.namespace}, "v": value}
        if live.put(key, t, o):
            w.append_change(Change(t, key, ChangeKind.MODIFIED, o))
    assert w.failed is None
    stats = uploader.stats()
    assert stats.backlog_objects > 10 and stats.retrying
    assert remote.reads_while_down == 0, "the writer never asked the store while it was down"
    # retention while the store is down: nothing blocks, the deletions wait for the store
    w.seal_now()
    result = w.compact(max_age=(t - T0) // 3)
    assert result.compacted and result.deleted
    assert remote.reads_while_down == 0
    remote.down.clear()
    w.close(stop_t=t)
    assert uploader.drain(30), uploader.stats()
    uploader.close()
    store.close(timeout=30)
    assert store.pending_deletes() == 0
    in_bucket = {b.name for b in LocalStore(tmp_path / "bucket").list("")}
    assert not in_bucket & set(result.deleted), "what retention deleted is gone from the store"
    live_start = result.start_t
    lazy = LazyHistory(SegmentedRecording(LocalStore(tmp_path / "bucket")), row_of)
    bases = [s for s in lazy.segments if s.base]
    assert len(bases) >= 3
    assert any((s.types.get("configmaps") or {}).get("records") for s in bases[1:]), (
        "the unchanged ConfigMap was carried into a base while the store was down"
    )
    assert lazy.first_t == live_start and lazy.last_t == live.last_t
    # every moment kept reads as the live map did
    for m in [*(rnd.randrange(live_start, t) for _ in range(30)), t]:
        for key in KEYS:
            assert lazy.get(key, m) == live.get(key, m), (key, m)
