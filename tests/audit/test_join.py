"""`import audit --into`: the audit history before a recording, joined to it without a seam.

Every test runs on a v0.1 recording file (its companion `REC.audit` beside it) and on a
segmented recording, what `record` writes now (its companion the object
`companion/audit.khr` in its store, merged into the lazy source when opened)."""

from __future__ import annotations

from pathlib import Path

import pytest

from khronoscope.audit.join import import_into
from khronoscope.cli import main
from khronoscope.core.provenance import (
    OBSERVED,
    RECONSTRUCTED,
    RECONSTRUCTED_FIELD,
    Provenance,
    is_unknown,
)
from khronoscope.core.source import SourceInfo, TypeState, TypeStatus
from khronoscope.core.types import Change, ChangeKind, ObjectKey, ResourceType
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.companion import companion_path
from khronoscope.recording.opening import open_any
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from tests.audit.lines import deployment, event, write
from tests.audit.test_entries import at

DEPLOY = ResourceType(
    "apps", "v1", "deployments", "Deployment", True, ("deploy",), ("list", "watch")
)
CM = ResourceType("", "v1", "configmaps", "ConfigMap", True, (), ("list", "watch"))
START = at(100)
WEB = ObjectKey("deployments.apps", "shop", "web")
GONE = ObjectKey("deployments.apps", "shop", "gone")
DRIFT = ObjectKey("deployments.apps", "shop", "drift")
CFG = ObjectKey("configmaps", "shop", "cfg")
BOB = {"username": "bob", "groups": ["ops"]}


# segmented-small: a segment per change or two, so the join spans segments and bases
FORMATS = ["v0.1", "segmented", "segmented-small"]


@pytest.fixture(params=FORMATS)
def layout(request):
    """The recording format a test runs on."""
    return request.param


def create(path: Path, layout: str, start: int = START, info: SourceInfo | None = None):
    """A new recording of `layout` at `path` (everything written when it is closed)."""
    info = info or SourceInfo("c1", "ctx")
    if layout.startswith("segmented"):
        opts = SegmentOptions(autoflush=False, background=False)
        if layout == "segmented-small":
            opts = SegmentOptions(
                seal_raw=1, autoflush=False, background=False, base_every=2, refs_reach=2
            )
        return SegmentedWriter.create_local(path, info, start=start, writer_options=opts)
    return RecordingWriter.create(
        path, info, start=start, writer_options=WriterOptions(autoflush=False)
    )


def snapshot(path: Path) -> dict[str, bytes]:
    """Every byte of a recording (a file, or a directory of objects)."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
    }


def companion_file(rec: Path) -> Path:
    """Where `import audit --into` puts a recording's imported history."""
    return rec / AUDIT_COMPANION if rec.is_dir() else companion_path(rec)


def open_recording(path: Path):
    """The recording as `open` reads it (a v0.1 file with its whole history)."""
    return open_any(path)


def configmap(rv: int, value: str) -> dict:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "cfg", "namespace": "shop", "resourceVersion": str(rv)},
        "data": {"a": value},
    }


def record(path: Path, layout: str = "v0.1") -> None:
    """A recording that began at START: web (rv 20), drift (rv 19) and cfg listed first, then
    web changed at START+5 (rv 25) and cfg at START+3.1."""
    fill(create(path, layout))


def fill(w: RecordingWriter | SegmentedWriter) -> None:
    """What `record` records, into writer `w` (closed after)."""
    w.set_types(START, [DEPLOY, CM])
    for rt in (DEPLOY, CM):
        w.append_status(START, rt.name, TypeStatus(TypeState.SYNCING, START))
    listed = START + 100_000_000
    w.append_change(Change(listed, WEB, ChangeKind.ADDED, deployment("web", 20, replicas=2)))
    w.append_change(Change(listed + 1, DRIFT, ChangeKind.ADDED, deployment("drift", 19)))
    w.append_change(Change(listed + 2, CFG, ChangeKind.ADDED, configmap(21, "one")))
    for rt in (DEPLOY, CM):
        w.append_status(listed + 10, rt.name, TypeStatus(TypeState.LIVE, listed + 10))
    w.append_change(Change(at(103.1), CFG, ChangeKind.MODIFIED, configmap(24, "two")))
    w.append_change(Change(at(105), WEB, ChangeKind.MODIFIED, deployment("web", 25, replicas=4)))
    w.close()


def audit_log(path: Path) -> Path:
    d = {rv: deployment("web", rv, replicas=r) for rv, r in ((10, 1), (15, 3), (20, 2))}
    return write(
        path,
        [
            event(10, "create", "deployments", "web", group="apps", response=d[10]),
            event(20, "update", "deployments", "web", group="apps", response=d[15]),
            event(30, "patch", "deployments", "web", group="apps", response=d[20]),
            event(
                40, "create", "deployments", "gone", group="apps", response=deployment("gone", 12)
            ),
            event(
                41, "create", "deployments", "drift", group="apps", response=deployment("drift", 16)
            ),
            event(50, "create", "configmaps", "cfg", level="Metadata"),
            # the recording's time: who made its versions
            event(103, "patch", "configmaps", "cfg", level="Metadata", user=BOB),
            event(
                105,
                "update",
                "deployments",
                "web",
                group="apps",
                response=deployment("web", 25, replicas=4),
                user=BOB,
            ),
        ],
    )


@pytest.fixture
def joined(tmp_path, layout):
    rec = tmp_path / "rec.khr"
    record(rec, layout)
    before = snapshot(rec)
    stats = import_into([audit_log(tmp_path / "audit.log")], rec, worker=False)
    after = snapshot(rec)
    # evidence is never rewritten: a segmented recording gains one object, nothing else changes
    assert {k: v for k, v in after.items() if k != AUDIT_COMPANION} == before
    assert (AUDIT_COMPANION in after) == layout.startswith("segmented")
    return rec, stats


def test_the_audit_history_comes_before_the_recording_as_one_timeline(joined):
    rec, _ = joined
    src = open_recording(rec)
    times = [t for t, _ in src.tmap.history(WEB)]
    # the audit's three versions, then the recording's change at START+5: the listed version at
    # START+0.1 is the audit's last one (same resourceVersion), so no step at the join
    assert times == [at(10), at(20), at(30), at(105)]
    assert src.tmap.get(WEB, at(15))["spec"]["replicas"] == 1
    assert src.tmap.get(WEB, at(25))["spec"]["replicas"] == 3
    assert src.tmap.get(WEB, START + 200_000_000)["spec"]["replicas"] == 2
    assert src.start_t == at(10)


def test_the_recording_s_versions_are_attributed_by_resource_version(joined):
    rec, stats = joined
    src = open_recording(rec)
    prov = src.provenance.version(WEB, at(105))
    assert prov is not None and prov.user == "bob" and prov.origin == OBSERVED
    assert prov.resource_version == "25"
    # a write logged without its body: matched by time, and says so
    cm = src.provenance.version(CFG, at(103.1))
    assert cm is not None and cm.user == "bob" and "matched by time" in cm.note
    assert stats.attributed == 2


def test_disagreements_at_the_join_are_marked_gaps_and_the_recording_wins(joined):
    rec, stats = joined
    src = open_recording(rec)
    reasons = [g.reason for g in src.gaps()]
    assert any(str(DRIFT) in r and "16" in r and "19" in r for r in reasons)
    assert any(str(GONE) in r and "not listed" in r for r in reasons)
    assert not any(str(WEB) in r for r in reasons)
    assert stats.gaps == 2
    # the recording wins: gone ends where the recording begins, drift is as recorded
    assert src.tmap.get(GONE, at(45)) is not None
    assert src.tmap.get(GONE, START + 1) is None
    assert src.tmap.get(DRIFT, START + 200_000_000)["metadata"]["resourceVersion"] == "19"
    assert src.tmap.get(DRIFT, at(45))["metadata"]["resourceVersion"] == "16"


def test_an_unknown_state_before_the_join_ends_at_the_recording_s_version(joined):
    rec, _ = joined
    src = open_recording(rec)
    assert is_unknown(src.tmap.get(CFG, at(60)))
    assert src.tmap.get(CFG, START + 200_000_000)["data"] == {"a": "one"}


def _users_of_a_create_and_an_edit(tmp_path, layout, seen, logged) -> list[str]:
    """A configmap created and then edited by bob, seen by the watch at `seen` (two times);
    `logged`: the two audit events. Who each recorded version is attributed to."""
    rec = tmp_path / "rec.khr"
    new = ObjectKey("configmaps", "shop", "new")
    w = create(rec, layout, info=SourceInfo("c1"))
    w.set_types(START, [CM])
    w.append_status(START, "configmaps", TypeStatus(TypeState.LIVE, START))
    w.append_change(Change(at(seen[0]), new, ChangeKind.ADDED, configmap(30, "a")))
    w.append_change(Change(at(seen[1]), new, ChangeKind.MODIFIED, configmap(31, "b")))
    w.close()
    import_into([write(tmp_path / "audit.log", logged)], rec, worker=False)
    src = open_recording(rec)
    return [src.provenance.version(new, t).user for t, _ in src.tmap.history(new)]


def test_writes_logged_without_body_are_matched_to_the_version_each_made(tmp_path, layout):
    """A create and an edit two seconds apart: each attributes its own recorded version."""
    logged = [
        event(110, "create", "configmaps", "new", level="Metadata"),
        event(111, "patch", "configmaps", "new", level="Metadata", user=BOB),
    ]
    users = _users_of_a_create_and_an_edit(tmp_path, layout, (110.05, 111.05), logged)
    assert users == ["alice@example.com", "bob"]


def test_a_write_seen_before_its_response_was_logged_is_still_its_own(tmp_path, layout):
    """A watch delivers a write once it is stored, which can be before the API server logs its
    response (`stageTimestamp`): a create seen at 110.2 s whose response is logged at 110.3 s,
    then an edit by bob seen at 110.4 s, logged at 110.5 s. Each is matched from when its
    request arrived, so neither takes the other's version."""
    logged = [
        event(110.3, "create", "configmaps", "new", level="Metadata", received=110.0),
        event(110.5, "patch", "configmaps", "new", level="Metadata", user=BOB, received=110.31),
    ]
    users = _users_of_a_create_and_an_edit(tmp_path, layout, (110.2, 110.4), logged)
    assert users == ["alice@example.com", "bob"]


def test_a_write_between_the_start_and_the_first_listing_is_before_the_join(tmp_path, layout):
    """The recorder lists a moment after it began: a write in between is in what it listed,
    so it belongs before the join (no false disagreement)."""
    rec = tmp_path / "rec.khr"
    w = create(rec, layout, info=SourceInfo("c1"))
    w.set_types(START, [DEPLOY])
    w.append_status(START, DEPLOY.name, TypeStatus(TypeState.SYNCING, START))
    listed = START + 500_000_000
    w.append_change(Change(listed, WEB, ChangeKind.ADDED, deployment("web", 11, replicas=2)))
    w.append_status(listed + 1, DEPLOY.name, TypeStatus(TypeState.LIVE, listed + 1))
    w.close()
    d10, d11 = deployment("web", 10), deployment("web", 11, replicas=2)
    log = write(
        tmp_path / "audit.log",
        [
            event(90, "create", "deployments", "web", group="apps", response=d10),
            event(100.2, "update", "deployments", "web", group="apps", response=d11),
        ],
    )
    stats = import_into([log], rec, worker=False)
    src = open_recording(rec)
    assert stats.gaps == 0 and not src.gaps()
    assert [t for t, _ in src.tmap.history(WEB)] == [at(90), at(100.2)]


def test_reconstructed_versions_give_way_to_the_audit_log_where_it_reaches(tmp_path, layout):
    # a recording whose start remembered two revisions (ReplicaSets' times, to the second)
    rec2 = tmp_path / "rec2.khr"
    w2 = create(rec2, layout)
    w2.set_types(START, [DEPLOY, CM])
    w2.append_status(START, DEPLOY.name, TypeStatus(TypeState.SYNCING, START))
    listed = START + 100_000_000
    w2.append_change(Change(listed, WEB, ChangeKind.ADDED, deployment("web", 20, replicas=2)))
    w2.append_status(listed + 10, DEPLOY.name, TypeStatus(TypeState.LIVE, listed + 10))
    for second in (5, 9.6):  # before the audit log begins, and within its second
        shell = {"kind": "Deployment", "spec": {"replicas": second}, RECONSTRUCTED_FIELD: "RS"}
        w2.append_reconstructed(at(second), WEB, shell)
        w2.append_provenance(Provenance(at(second), WEB, RECONSTRUCTED, note="from RS"))
    w2.close()
    import_into([audit_log(tmp_path / "audit.log")], rec2, worker=False)
    src = open_recording(rec2)
    assert [t for t, _ in src.tmap.history(WEB)] == [at(5), at(10), at(20), at(30)]
    assert src.tmap.get(WEB, at(9.8))["spec"]["replicas"] == 5  # rebuilt, from before the log


def test_a_second_import_into_the_same_recording_is_refused(joined, tmp_path):
    rec, _ = joined
    with pytest.raises(KhronoscopeError, match="already has imported history"):
        import_into([tmp_path / "audit.log"], rec, worker=False)


def test_a_companion_made_for_another_recording_is_not_used(joined, tmp_path, layout):
    rec, _ = joined
    other = tmp_path / "other.khr"
    w = create(other, layout, start=START + 1, info=SourceInfo("c1"))
    w.append_change(Change(at(105), WEB, ChangeKind.ADDED, deployment("web", 25)))
    w.close()
    companion_file(other).parent.mkdir(exist_ok=True)
    companion_file(rec).rename(companion_file(other))
    src = open_recording(other)
    assert [t for t, _ in src.tmap.history(WEB)] == [at(105)]
    assert any("made for another recording" in p.describe() for p in src.problems())


def test_the_command_line(tmp_path, capsys, layout):
    rec = tmp_path / "rec.khr"
    record(rec, layout)
    log = audit_log(tmp_path / "audit.log")
    assert main(["import", "audit", str(log), "--into", str(rec), "-q"]) == 0
    err = capsys.readouterr().err
    assert "2 recorded versions attributed" in err and "2 disagreement(s)" in err
    assert main(["history", str(rec), "deploy/shop/web", "--json"]) == 0
    import json

    entries = json.loads(capsys.readouterr().out)
    assert [e["user"] for e in entries] == ["alice@example.com"] * 3 + ["bob"]
    assert entries[-1]["origin"] == "observed" and entries[0]["origin"] == "audit"


def test_an_object_the_recording_deleted_stays_deleted(tmp_path, layout):
    """After the recording's delete the audit's last state (alive) never shows again."""
    rec = tmp_path / "rec.khr"
    w = create(rec, layout)
    w.set_types(START, [DEPLOY])
    w.append_status(START, DEPLOY.name, TypeStatus(TypeState.SYNCING, START))
    listed = START + 100_000_000
    w.append_change(Change(listed, WEB, ChangeKind.ADDED, deployment("web", 20, replicas=2)))
    w.append_status(listed + 10, DEPLOY.name, TypeStatus(TypeState.LIVE, listed + 10))
    w.append_change(Change(at(106), WEB, ChangeKind.DELETED, None))
    w.close()
    import_into([audit_log(tmp_path / "audit.log")], rec, worker=False)
    src = open_recording(rec)
    kinds = [k for _, k in src.tmap.history(WEB)]
    assert kinds == [ChangeKind.ADDED, ChangeKind.MODIFIED, ChangeKind.MODIFIED, ChangeKind.DELETED]
    assert src.tmap.get(WEB, at(107)) is None
    assert WEB not in src.tmap.state_at(at(107), "deployments.apps")
    assert WEB in src.tmap.state_at(at(35), "deployments.apps")
    assert src.tmap.version_at(WEB, at(105)) == at(30)  # the listed version began in the audit
    in_range = [(r.t, r.key.name) for r in src.tmap.changes(at(29), at(200), "deployments.apps")]
    assert ("web", at(106)) not in in_range and (at(106), "web") in in_range
    assert [t for t, name in in_range if name == "web"] == [at(30), at(106)]
