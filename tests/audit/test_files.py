"""Audit log files: rotated and gzipped, in any order; truncated last lines; garbage; exports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from khronoscope.audit.importer import import_new
from khronoscope.core.provenance import Actor
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.source import open_recording
from tests.audit.lines import KUBECTL, deployment, event, line, write
from tests.audit.test_entries import WEB, at


def updates(seconds: list[float]) -> list[dict]:
    """A create at the first second, then an update (one more replica) at each other."""
    out = []
    for i, s in enumerate(seconds):
        d = deployment("web", 10 + i, replicas=i + 1)
        out.append(
            event(
                s,
                "create" if i == 0 else "update",
                "deployments",
                "web",
                group="apps",
                request=d,
                response=d,
            )
        )
    return out


def replicas_over_time(path: Path) -> list[tuple[int, int]]:
    src = open_recording(path)
    return [(t, src.tmap.get(WEB, t)["spec"]["replicas"]) for t, _ in src.tmap.history(WEB)]


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_rotated_and_gzipped_files_given_in_any_order_make_one_history(tmp_path, worker):
    evs = updates([1, 2, 3, 4, 5, 6])
    # what --audit-log-path leaves after two rotations, the older ones compressed
    old = write(tmp_path / "audit-2026-05-01T10-00-02.500.log.gz", evs[:2], gz=True)
    mid = write(tmp_path / "audit-2026-05-01T10-00-04.500.log", evs[2:4])
    new = write(tmp_path / "audit.log", evs[4:])
    out = tmp_path / "r.khr"
    stats = import_new([new, old, mid], out, worker=worker)
    assert replicas_over_time(out) == [(at(s), s) for s in (1, 2, 3, 4, 5, 6)]
    assert stats.read.entries == 6 and stats.read.lines == 6 and stats.versions == 6
    prov = open_recording(out).provenance.version(WEB, at(3))
    assert prov.actor == Actor(
        "alice@example.com", ("devs", "system:authenticated"), KUBECTL, ("10.0.0.7",)
    )
    assert prov.verb == "update" and prov.resource_version == "12" and prov.audit_id


def test_the_logs_of_two_api_servers_interleave_by_time(tmp_path):
    evs = updates([1, 2, 3, 4])
    a = write(tmp_path / "apiserver-a.log", [evs[0], evs[2]])
    b = write(tmp_path / "apiserver-b.log", [evs[1], evs[3]])
    out = tmp_path / "r.khr"
    import_new([a, b], out, worker=False)
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3, 4]


def test_entries_slightly_out_of_order_in_a_file_are_put_in_order(tmp_path):
    evs = updates([1, 2, 3])
    log = write(tmp_path / "audit.log", [evs[0], evs[2], evs[1]])
    # the third entry (replicas 3) carries the highest resourceVersion: in order, nothing stale
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3]
    assert stats.stale == 0


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_last_line_cut_short_is_counted_and_the_rest_imported(tmp_path, gz):
    evs = updates([1, 2, 3])
    cut = line(updates([1, 2, 3, 4])[3])[:200]  # a file still being written
    log = write(tmp_path / "audit.log", evs, gz=gz, tail=cut)
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert stats.read.truncated == 1 and stats.read.garbage == 0
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3]
    assert any("cut short" in e for e in stats.read.examples)


def test_a_gzip_file_cut_short_keeps_what_it_holds(tmp_path):
    evs = updates([1, 2, 3])
    log = write(tmp_path / "audit.log.gz", evs, gz=True)
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 12])  # the end of the stream (and maybe more) is gone
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert stats.read.truncated >= 1
    assert len(replicas_over_time(out)) >= 1


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_garbage_lines_are_reported_skipped_and_counted(tmp_path, worker):
    evs = updates([1, 2, 3])
    lines = [
        line(evs[0]),
        b"this is not json\n",
        b'{"kind":"Something","apiVersion":"v1"}\n',
        b"[1, 2, 3]\n",
        line(evs[1]),
        b'{"kind":"Event","auditID":"x","verb":"create","stageTimestamp":"yesterday"}\n',
        b"\n",
        line(evs[2]),
    ]
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(lines))
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=worker)
    assert stats.read.garbage == 4
    assert stats.read.truncated == 0
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3]
    where = "\n".join(stats.read.examples)
    assert f"{log}:2: not JSON" in where
    assert f"{log}:3:" in where and f"{log}:6:" in where


def test_managed_cluster_exports_are_unwrapped(tmp_path):
    evs = updates([1, 2, 3, 4])
    cloudwatch = {"timestamp": 1, "message": json.dumps(evs[0])}
    azure = {"category": "kube-audit", "properties": {"log": json.dumps(evs[1]), "pod": "x"}}
    webhook = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [evs[2], evs[3]]}
    log = tmp_path / "export.json"
    log.write_bytes(b"".join(json.dumps(d).encode() + b"\n" for d in (cloudwatch, azure, webhook)))
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert stats.read.garbage == 0
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3, 4]


def test_a_missing_file_is_a_clear_error_and_no_recording_is_left(tmp_path):
    out = tmp_path / "r.khr"
    with pytest.raises(KhronoscopeError, match="no such file"):
        import_new([tmp_path / "nope.log"], out, worker=False)
    assert not out.exists()


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path):
    evs = updates([1, 2])
    log = tmp_path / "audit.log"  # gzipped, named as plain
    with gzip.open(log, "wb") as f:
        f.write(b"".join(line(e) for e in evs))
    out = tmp_path / "r.khr"
    import_new([log], out, worker=False)
    src = open_recording(out)
    assert [k for _, k in src.tmap.history(WEB)] == [ChangeKind.ADDED, ChangeKind.MODIFIED]
    assert ObjectKey("deployments.apps", "shop", "web") in src.tmap


def test_gzip_members_one_after_another_are_one_file(tmp_path):
    # what `cat a.gz b.gz > c.gz` makes (and a writer that pads with zeros)
    evs = updates([1, 2, 3, 4])
    log = tmp_path / "audit.log.gz"
    first = gzip.compress(b"".join(line(e) for e in evs[:2]))
    second = gzip.compress(b"".join(line(e) for e in evs[2:]))
    log.write_bytes(first + b"\0" * 10 + second + b"\0" * 3)
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert stats.read.truncated == 0 and stats.read.garbage == 0
    assert [r for _, r in replicas_over_time(out)] == [1, 2, 3, 4]


def test_a_damaged_gzip_file_keeps_what_comes_before_the_damage(tmp_path):
    evs = updates([1, 2, 3])
    log = tmp_path / "audit.log.gz"
    good = gzip.compress(b"".join(line(e) for e in evs[:2]))
    log.write_bytes(good + b"this is not gzip")
    out = tmp_path / "r.khr"
    stats = import_new([log], out, worker=False)
    assert stats.read.truncated == 1
    assert any("compressed data is damaged" in e for e in stats.read.examples)
    assert [r for _, r in replicas_over_time(out)] == [1, 2]
