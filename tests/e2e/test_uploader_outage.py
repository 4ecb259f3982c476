"""The uploader against a real RGW that is stopped for 30 s: nothing lost, backlog drained."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from khronoscope.storage import open_store
from khronoscope.storage.uploader import Backoff, Uploader
from tests.e2e import s3

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_rgw(monkeypatch):
    """An RGW of this test's own: stopping it must not disturb the session's."""
    server = s3.start()
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in server.client_env().items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    try:
        yield server
    finally:
        s3.stop(server)


def test_rgw_stopped_for_30s_loses_nothing_and_the_backlog_drains(own_rgw, tmp_path):
    bucket = own_rgw.create_bucket()
    store = open_store(f"s3://{bucket}/clusters/prod")
    up = Uploader(store, tmp_path / "spool", 64 << 20, backoff=Backoff(base=0.2, cap=2.0))
    up.start()
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    digests: dict[str, str] = {}

    def seal(i: int) -> None:
        data = os.urandom(200_000 + i)
        path = sealed / f"{i:05d}.seg"
        path.write_bytes(data)
        name = f"segments/{i:05d}.seg"
        digests[name] = hashlib.sha256(data).hexdigest()
        up.submit(path, name)

    for i in range(3):
        seal(i)
    assert up.drain(30)
    own_rgw.stop()
    t0 = time.monotonic()
    i = 3
    peak = 0
    while time.monotonic() - t0 < 30:  # the recorder keeps sealing segments meanwhile
        seal(i)
        i += 1
        time.sleep(2)
        peak = max(peak, up.stats().backlog_bytes)
    during = up.stats()
    assert during.retrying and during.failures > 0 and during.last_error
    assert "\n" not in during.last_error
    assert during.backlog_objects >= 10 and peak >= 10 * 200_000
    own_rgw.start()
    assert up.drain(90), f"backlog not drained: {up.stats()}"
    stats = up.close()
    assert stats.backlog_bytes == 0 and stats.dropped_objects == 0
    assert stats.uploaded_objects == i
    got = {b.name: hashlib.sha256(store.get(b.name)).hexdigest() for b in store.list("segments/")}
    assert got == digests
