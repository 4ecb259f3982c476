"""The S3 backend against a real RGW: the same contract as a directory, and one-line errors."""

from __future__ import annotations

import pytest

from khronoscope.storage import StoreError, open_store
from khronoscope.storage.s3 import S3Store
from tests.storage.contract import CHECKS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_s3_store_keeps_the_contract(rgw, s3_env, check):
    bucket = rgw.create_bucket()
    store = open_store(f"s3://{bucket}/clusters/prod")
    assert isinstance(store, S3Store)
    check(store)


def test_a_prefix_is_a_namespace_of_its_own(rgw, s3_env):
    bucket = rgw.create_bucket()
    a = open_store(f"s3://{bucket}/clusters/a")
    b = open_store(f"s3://{bucket}/clusters/a2")
    a.put("seg/1", b"a")
    b.put("seg/1", b"b")
    assert [i.name for i in a.list()] == ["seg/1"]
    assert a.get("seg/1") == b"a" and b.get("seg/1") == b"b"
    whole = open_store(f"s3://{bucket}")
    assert [i.name for i in whole.list()] == ["clusters/a/seg/1", "clusters/a2/seg/1"]


def test_a_missing_bucket_is_one_line(rgw, s3_env):
    store = open_store("s3://no-such-bucket-khr/x")
    with pytest.raises(StoreError) as err:
        store.get("seg/1")
    msg = str(err.value)
    assert "\n" not in msg
    assert "bucket 'no-such-bucket-khr' does not exist" in msg


def test_wrong_credentials_are_one_line_without_the_secret(rgw, s3_env, monkeypatch):
    bucket = rgw.create_bucket()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-123")
    store = open_store(f"s3://{bucket}/p")
    with pytest.raises(StoreError) as err:
        store.put("x", b"1")
    msg = str(err.value)
    assert "\n" not in msg
    assert "403" in msg and "access denied" in msg
    assert "wrong-secret-value-123" not in msg
    assert s3_env["AWS_ACCESS_KEY_ID"] not in msg


def test_an_unreachable_endpoint_is_one_line_naming_it(rgw, s3_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    store = S3Store("s3://bucket/p", max_retries=1, retry_timeout=2)
    with pytest.raises(StoreError) as err:
        store.get("x")
    msg = str(err.value)
    assert "\n" not in msg
    assert "cannot read s3://bucket/p/x" in msg and "127.0.0.1:9" in msg


def test_the_lease_on_rgw_refuses_a_second_writer_and_frees_on_release(rgw, s3_env):
    from khronoscope.storage.lease import Lease, LeaseHeld, LeaseLost

    bucket = rgw.create_bucket()
    url = f"s3://{bucket}/clusters/prod"
    first = Lease(open_store(url), ttl=2.0, renew_every=0.5, host="pod-a", pid=1)
    first.acquire()
    second = Lease(open_store(url), ttl=2.0, renew_every=0.5, host="laptop", pid=42)
    with pytest.raises(LeaseHeld, match="already being recorded by host pod-a"):
        second.acquire()
    first.renew()
    first.release()
    second.acquire()
    assert second.valid()
    # second dies without releasing; a third takes over once it is stale, and second, if it
    # ever comes back, learns it lost
    import time

    # RGW's Last-Modified has whole seconds: both ends of the age can be off by up to 1 s
    time.sleep(2.0 + 1.5)
    third = Lease(open_store(url), ttl=2.0, renew_every=0.5, host="pod-b", pid=1)
    third.acquire()
    assert third.valid()
    with pytest.raises(LeaseLost):
        second.renew()
