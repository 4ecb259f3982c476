"""`import audit --into` a segmented recording (what `record` and the app write now) is refused
with a line that says why, not "no such recording"; nothing is written beside it."""

from __future__ import annotations

from khronoscope import cli
from khronoscope.core.source import SourceInfo
from khronoscope.recording.segments.writer import SegmentedWriter
from tests.audit.test_join import audit_log


def test_import_into_a_segmented_recording_says_it_is_not_built(tmp_path, capsys):
    rec = tmp_path / "rec.khr"
    SegmentedWriter.create_local(rec, SourceInfo("c")).close()
    log = audit_log(tmp_path / "audit.log")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli.main(["import", "audit", str(log), "--into", str(rec), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "segmented recording is not built yet" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
