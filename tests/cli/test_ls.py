"""`khronoscope ls`: the recordings under a location, whose writer is alive; and `history` on a
location holding several says which, in one line."""

from __future__ import annotations

import json

from khronoscope import cli
from khronoscope.core.source import SourceInfo
from khronoscope.core.types import Change, ChangeKind, ObjectKey
from khronoscope.recording.segments.writer import SegmentedWriter
from khronoscope.storage.lease import Lease
from khronoscope.storage.local import LocalStore

T0 = 1_800_000_000_000_000_000


def _recording(path, cluster: str, changes: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    w = SegmentedWriter.create_local(path, SourceInfo(cluster, "ctx"), start=T0)
    for i in range(changes):
        key = ObjectKey("configmaps", "default", f"c{i}")
        obj = {"metadata": {"name": key.name, "namespace": "default"}, "v": i}
        w.append_change(Change(T0 + i * 10**9, key, ChangeKind.ADDED, obj))
    w.close(stop_t=T0 + changes * 10**9)


def test_ls_lists_each_recording_with_its_cluster_span_and_writer(tmp_path, capsys):
    _recording(tmp_path / "clusters" / "prod", "prod-eu", 5)
    _recording(tmp_path / "clusters" / "staging", "staging-eu", 3)
    lease = Lease(LocalStore(tmp_path / "clusters" / "prod"))
    lease.acquire()
    try:
        assert cli.main(["ls", str(tmp_path / "clusters")]) == 0
        out = capsys.readouterr().out.splitlines()
        assert cli.main(["ls", str(tmp_path / "clusters"), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
    finally:
        lease.release()
    assert out[0].startswith("2 recordings under")
    rows = {ln.split()[0]: ln for ln in out[2:]}
    assert set(rows) == {"prod", "staging"}
    assert "prod-eu" in rows["prod"] and "alive (host" in rows["prod"]
    assert "2027-01-15T08:00:00Z" in rows["prod"]  # its first change
    assert rows["staging"].rstrip().endswith("-")  # never had a lease
    by = {d["recording"].rsplit("/", 1)[-1]: d for d in doc}
    assert by["prod"]["writer_alive"] is True and by["staging"]["writer_alive"] is False
    assert by["prod"]["segments"] >= 1 and by["prod"]["bytes"] > 0
    # released: no longer alive
    assert cli.main(["ls", str(tmp_path / "clusters")]) == 0
    assert "stopped" in capsys.readouterr().out


def test_a_location_without_a_recording_is_one_line_and_status_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["ls", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no khronoscope recording there" in err[0]
    assert cli.main(["ls", "gs://bucket/x"]) == 2
    assert "not a supported storage URL" in capsys.readouterr().err
