"""What every BlobStore must do, written once and run against each backend (local here, RGW in
the e2e tier)."""

from __future__ import annotations

import pytest

from khronoscope.storage import BlobNotFound, BlobStore, Capability


def check_round_trip_and_ranges(store: BlobStore) -> None:
    store.put("seg/0001", b"0123456789")
    assert store.get("seg/0001") == b"0123456789"
    assert store.get_range("seg/0001", 3, 4) == b"3456"
    assert store.get_range("seg/0001", 8, 10) == b"89"  # fewer at the end
    assert store.get_range("seg/0001", 10, 5) == b""  # at the end: nothing, not an error
    assert store.get_range("seg/0001", 50, 5) == b""
    assert store.get_range("seg/0001", 2, 0) == b""
    for read in (lambda: store.get("seg/0002"), lambda: store.get_range("seg/0002", 0, 4)):
        with pytest.raises(BlobNotFound):
            read()
    with pytest.raises(BlobNotFound):
        store.get_range("seg/0002", 0, 0)
    info = store.stat("seg/0001")
    assert info is not None and (info.name, info.size) == ("seg/0001", 10)
    assert info.mtime_ns > 1_600_000_000 * 10**9
    assert store.stat("seg/0002") is None


def check_put_replaces_whole(store: BlobStore) -> None:
    store.put("obj", b"first version, longer")
    store.put("obj", b"second")
    assert store.get("obj") == b"second"


def check_put_if_absent_never_replaces(store: BlobStore) -> None:
    assert store.put_if_absent("lease/000001", b"a")
    assert not store.put_if_absent("lease/000001", b"b")
    assert store.get("lease/000001") == b"a"
    assert Capability.CONDITIONAL_CREATE in store.capabilities


def check_list_by_partial_prefix_in_name_order(store: BlobStore) -> None:
    for name in ("seg/0002", "seg/0001", "segx", "index/0001", "header", "seg/0010/x"):
        store.put(name, name.encode())
    assert [b.name for b in store.list("seg/")] == ["seg/0001", "seg/0002", "seg/0010/x"]
    assert [b.name for b in store.list("seg/000")] == ["seg/0001", "seg/0002"]
    assert [b.name for b in store.list("seg")] == ["seg/0001", "seg/0002", "seg/0010/x", "segx"]
    assert [b.name for b in store.list()] == [
        "header",
        "index/0001",
        "seg/0001",
        "seg/0002",
        "seg/0010/x",
        "segx",
    ]
    assert [(b.name, b.size) for b in store.list("index/")] == [("index/0001", 10)]
    assert list(store.list("nothing/")) == []


def check_delete(store: BlobStore) -> None:
    store.put("gone", b"x")
    store.delete("gone")
    store.delete("gone")  # already gone: fine
    assert store.stat("gone") is None


def check_bad_names(store: BlobStore) -> None:
    for name in ("", "/abs", "a/../b", "a//b", "."):
        with pytest.raises(ValueError):
            store.put(name, b"x")


CHECKS = [
    check_round_trip_and_ranges,
    check_put_replaces_whole,
    check_put_if_absent_never_replaces,
    check_list_by_partial_prefix_in_name_order,
    check_delete,
    check_bad_names,
]
