"""`import audit --into` a segmented recording that lives in a real S3 bucket (Ceph RGW): the
companion is one more object under the recording's prefix, and the recording opened from the
bucket is one timeline with it, as from a directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from khronoscope.audit.segjoin import import_into_store
from khronoscope.core.source import SourceInfo
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.segments.source import SegmentedSource
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.storage import open_store
from tests.audit.test_entries import at
from tests.audit.test_join import GONE, START, WEB, audit_log, fill

pytestmark = pytest.mark.e2e


def test_a_recording_in_a_bucket_takes_its_audit_history(rgw, s3_env, tmp_path):
    bucket = rgw.create_bucket()
    url = f"s3://{bucket}/clusters/prod"
    store = open_store(url)
    opts = SegmentOptions(autoflush=False, background=False)
    fill(
        SegmentedWriter.create(
            store, tmp_path / "wal", SourceInfo("c1", "ctx"), start=START, writer_options=opts
        )
    )
    before = {i.name: i.size for i in store.list()}
    log = audit_log(tmp_path / "audit.log")
    stats = import_into_store([log], store, None, Path(url), worker=False)
    assert stats.attributed == 2 and stats.gaps == 2
    after = {i.name: i.size for i in store.list()}
    assert set(after) - set(before) == {AUDIT_COMPANION}
    with pytest.raises(KhronoscopeError, match="already has imported history"):
        import_into_store([log], store, None, Path(url), worker=False)

    src = SegmentedSource(open_store(url), display=url)
    assert [t for t, _ in src.tmap.history(WEB)] == [at(10), at(20), at(30), at(105)]
    assert src.provenance.version(WEB, at(105)).user == "bob"
    assert src.tmap.get(GONE, at(45)) is not None and src.tmap.get(GONE, START + 1) is None
    assert any(str(GONE) in g.reason for g in src.gaps())


ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # s3_env put the RGW's AWS_* in os.environ
    return subprocess.run(
        [sys.executable, "-m", "khronoscope", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_cli_imports_into_a_recording_in_a_bucket(rgw, s3_env, tmp_path):
    # what a user types: `khronoscope import audit LOG --into s3://BUCKET/PREFIX`
    bucket = rgw.create_bucket()
    url = f"s3://{bucket}/clusters/prod"
    opts = SegmentOptions(autoflush=False, background=False)
    fill(
        SegmentedWriter.create(
            open_store(url), tmp_path / "wal", SourceInfo("c1", "ctx"), start=START,
            writer_options=opts,
        )
    )  # fmt: skip
    log = audit_log(tmp_path / "audit.log")

    missing = _cli("import", "audit", str(log), "--into", f"s3://{bucket}/nothing")
    assert missing.returncode != 0 and "no khronoscope recording there" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1

    done = _cli("import", "audit", str(log), "--into", url, "-q")
    assert done.returncode == 0, done.stderr
    assert f"{url}/{AUDIT_COMPANION}" in done.stderr and "imported" in done.stderr
    again = _cli("import", "audit", str(log), "--into", url, "-q")
    assert again.returncode != 0 and "already has imported history" in again.stderr

    # the history before the recording began is read back from the bucket, with who made it
    src = SegmentedSource(open_store(url), display=url)
    assert [t for t, _ in src.tmap.history(WEB)] == [at(10), at(20), at(30), at(105)]
    assert src.provenance.version(WEB, at(105)).user == "bob"
