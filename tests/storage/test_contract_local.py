"""The BlobStore contract on a local directory."""

from __future__ import annotations

import pytest

from khronoscope.storage.cache import BlockCache, CachedStore
from khronoscope.storage.local import LocalStore
from tests.storage.contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_local_store_keeps_the_contract(tmp_path, check):
    check(LocalStore(tmp_path / "rec"))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_cached_store_keeps_the_contract(tmp_path, check):
    cache = BlockCache(tmp_path / "cache", max_bytes=1 << 20, block_size=4)
    check(CachedStore(LocalStore(tmp_path / "rec"), cache, lambda n: n.startswith("seg/")))
