"""`import audit --into` a segmented recording (what `record` and the app write now): opened,
the audit history and the recording are one timeline in the app, `history`, `diff` and
`export --recording`; the recording's objects are untouched and a second import is refused."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC

import pytest

from khronoscope import cli
from khronoscope.printers import row_for
from khronoscope.recording.segments.layout import AUDIT_COMPANION
from khronoscope.recording.segments.source import open_segmented
from khronoscope.tui.app import create_app
from khronoscope.tui.settings import BrowserSettings
from tests.audit.test_entries import at
from tests.audit.test_join import DRIFT, GONE, START, WEB, audit_log, record, snapshot
from tests.tui.conftest import SIZE, names

LISTED = START + 100_000_000


@pytest.fixture
def joined(tmp_path, capsys):
    rec = tmp_path / "rec.khr"
    record(rec, "segmented")
    before = snapshot(rec)
    log = audit_log(tmp_path / "audit.log")
    assert cli.main(["import", "audit", str(log), "--into", str(rec), "-q"]) == 0
    err = capsys.readouterr().err
    assert f"{rec}/{AUDIT_COMPANION}" in err and "2 recorded versions attributed" in err, err
    after = snapshot(rec)
    assert set(after) - set(before) == {AUDIT_COMPANION}
    assert all(after[k] == v for k, v in before.items())
    return rec


def test_a_second_import_is_refused_in_one_line_and_the_first_kept(joined, tmp_path, capsys):
    kept = (joined / AUDIT_COMPANION).read_bytes()
    log = tmp_path / "audit.log"
    assert cli.main(["import", "audit", str(log), "--into", str(joined), "-q"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already has imported history" in err, err
    assert (joined / AUDIT_COMPANION).read_bytes() == kept


def test_history_and_diff_read_across_the_join(joined, capsys):
    assert cli.main(["history", str(joined), "deploy/shop/web", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["user"] for e in entries] == ["alice@example.com"] * 3 + ["bob"]
    assert [e["change"] for e in entries] == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED"]
    # from the audit log's time into the recording's: replicas 3 (audit) -> 4 (recorded)
    span = ["2026-05-01T10:00:25Z", "2026-05-01T10:01:46Z"]
    assert cli.main(["diff", str(joined), *span, "deploy/shop/web", "--json"]) == 1  # differ
    modified = json.loads(capsys.readouterr().out)["modified"]
    assert [m["name"] for m in modified] == ["web"] and modified[0]["paths"] == ["spec.replicas"]
    assert "-  replicas: 3\n+  replicas: 4" in modified[0]["diff"]


def test_export_commits_the_audit_history_then_the_recording(joined, tmp_path):
    repo = tmp_path / "repo"
    args = [
        "export",
        "--recording",
        str(joined),
        "--repo",
        str(repo),
        "--from",
        "2026-05-01T10:00:10Z",
    ]
    assert cli.main([*args, "-q"]) == 0
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--reverse", "--format=%B%x00"],
        capture_output=True,
        text=True,
    ).stdout
    commits = [c.strip() for c in log.split("\0") if c.strip()]
    web = [c for c in commits if "deployments.apps/shop/web" in c]
    assert "alice@example.com" in web[0] and "bob" in web[-1]
    # web's listed version is the audit's last: no commit for it at the join
    assert len(web) == 4, web
    show = subprocess.run(
        ["git", "-C", str(repo), "show", "HEAD:shop/deployments.apps/web.yaml"],
        capture_output=True,
        text=True,
    ).stdout
    assert "replicas: 4" in show


async def test_the_app_steps_through_the_audit_history_into_the_recording(joined):
    source = open_segmented(joined, row_fn=row_for)
    app = create_app(source, BrowserSettings(at=at(25), tz=UTC, clock=lambda: at(3600)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"deploy shop", "enter")
        await pilot.pause()
        assert app.playback.t == at(25)
        assert sorted(names(app)) == ["web"]  # before gone and drift were created
        stops = []
        for _ in range(6):
            await pilot.press("right_square_bracket")
            await pilot.pause()
            stops.append(app.playback.t)
        # the audit's changes, gone ended where the recording began, drift's disagreement;
        # no stop at web's listing (the audit's last version seen again)
        assert stops == [at(30), at(40), at(41), START, LISTED + 1, at(105)], stops
        assert sorted(names(app)) == ["drift", "web"]
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert app.playback.t == LISTED + 1
        assert app.source.tmap.get(DRIFT, app.playback.t)["metadata"]["resourceVersion"] == "19"
        assert app.source.tmap.get(GONE, app.playback.t) is None
        assert app.source.tmap.get(WEB, at(25))["spec"]["replicas"] == 3
    source.close()
