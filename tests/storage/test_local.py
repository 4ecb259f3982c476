"""The local BlobStore: whole objects, ranged reads, create-only writes, listing."""

from __future__ import annotations

import os
import threading

import pytest

from khronoscope.storage import BlobNotFound
from khronoscope.storage.local import LocalStore


def test_objects_round_trip_and_ranges(tmp_path):
    store = LocalStore(tmp_path / "rec")
    store.put("seg/0001", b"0123456789")
    assert store.get("seg/0001") == b"0123456789"
    assert store.get_range("seg/0001", 3, 4) == b"3456"
    assert store.get_range("seg/0001", 8, 10) == b"89"
    assert os.stat(tmp_path / "rec" / "seg" / "0001").st_mode & 0o777 == 0o600
    with pytest.raises(BlobNotFound):
        store.get("seg/0002")


def test_put_if_absent_never_replaces(tmp_path):
    store = LocalStore(tmp_path)
    assert store.put_if_absent("lease", b"a")
    assert not store.put_if_absent("lease", b"b")
    assert store.get("lease") == b"a"
    assert [b.name for b in store.list()] == ["lease"]


def test_list_by_prefix_in_name_order_and_delete(tmp_path):
    store = LocalStore(tmp_path)
    for name in ("seg/0002", "seg/0001", "index/0001", "header"):
        store.put(name, name.encode())
    assert [b.name for b in store.list("seg/")] == ["seg/0001", "seg/0002"]
    assert [b.name for b in store.list()] == ["header", "index/0001", "seg/0001", "seg/0002"]
    store.delete("seg/0001")
    store.delete("seg/0001")
    assert store.stat("seg/0001") is None
    assert store.stat("seg/0002").size == 8


@pytest.mark.parametrize("name", ["", "/abs", "a/../b", "a//b", "."])
def test_names_cannot_escape_the_root(tmp_path, name):
    with pytest.raises(ValueError):
        LocalStore(tmp_path).put(name, b"x")


def test_a_planted_symlink_at_the_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    store = LocalStore(tmp_path / "rec")
    (tmp_path / "rec").mkdir()
    tmp_name = f".obj.{os.getpid()}-{threading.get_ident()}.partial"
    (tmp_path / "rec" / tmp_name).symlink_to(victim)
    with pytest.raises(FileExistsError):
        store.put("obj", b"cluster data")
    assert victim.read_text() == "keep"


def test_threads_creating_one_name_get_one_winner_and_no_error(tmp_path):
    store = LocalStore(tmp_path)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def create(i: int) -> None:
        barrier.wait()
        try:
            results.append(store.put_if_absent("lease/1", str(i).encode()))
        except OSError as err:
            results.append(err)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [False] * 7 + [True]
