"""`import audit --into` a segmented recording that lives in a real S3 bucket (Ceph RGW): the
companion is one more object under the recording's prefix, and the recording opened from the
bucket is one timeline with it, as from a directory."""

from __future__ import annotations

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
