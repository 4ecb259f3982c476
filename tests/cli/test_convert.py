"""`khronoscope convert OLD NEW`: a v0.1 file becomes a segmented recording that opens lazily
with the same history; the old file is left as it was."""

from __future__ import annotations

import hashlib

from khronoscope import cli
from khronoscope.recording.opening import open_any
from khronoscope.recording.segments.source import SegmentedSource
from tests.recording.helpers import record


def test_convert_writes_a_segmented_recording_with_the_same_history(tmp_path, capsys):
    old = record(tmp_path / "old.khr", seed=5, count=600, objects=40).path
    before = hashlib.sha256(old.read_bytes()).hexdigest()
    new = tmp_path / "new.khr"
    assert cli.main(["convert", str(old), str(new)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    last = err.splitlines()[-1]
    assert (
        last.startswith("khronoscope: converted ")
        and f"open it with: khronoscope open {new}" in last
    )
    assert hashlib.sha256(old.read_bytes()).hexdigest() == before  # the old file is kept as is
    was, now = open_any(old), open_any(new)
    try:
        assert isinstance(now, SegmentedSource)
        assert now.tmap.change_count == was.tmap.change_count
        assert now.tmap.first_t == was.tmap.first_t and now.tmap.last_t == was.tmap.last_t
        for t in (was.tmap.first_t, (was.tmap.first_t + was.tmap.last_t) // 2, was.tmap.last_t):
            assert now.tmap.state_at(t) == was.tmap.state_at(t)
    finally:
        was.close()
        now.close()
    # converting again onto the same name is refused, nothing overwritten
    assert cli.main(["convert", str(old), str(new)]) == 2
    assert "already exists" in capsys.readouterr().err
