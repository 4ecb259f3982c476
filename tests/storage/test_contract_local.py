"""The BlobStore contract on a local directory."""

from __future__ import annotations

import pytest

from khronoscope.storage.local import LocalStore
from tests.storage.contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_local_store_keeps_the_contract(tmp_path, check):
    check(LocalStore(tmp_path / "rec"))
