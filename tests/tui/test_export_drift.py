"""In the app: the export dialog commits the moment shown; `:drift DIR` shows the drift view."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from textual.widgets import Input, RadioButton

from khronoscope.tui.commands import parse_drift_args
from khronoscope.tui.screens.drift import DriftScreen
from khronoscope.tui.screens.export import ExportScreen, remembered
from tests import testing

from .conftest import SIZE, screen_text


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


async def _until(pilot, check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.05)


async def _export(app, pilot, repo: Path, scope_id: str | None = None) -> ExportScreen:
    await pilot.press("E")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ExportScreen)
    dialog.query_one("#export-repo", Input).value = str(repo)
    if scope_id:
        dialog.query_one(f"#{scope_id}", RadioButton).value = True
    dialog.query_one("#export-repo", Input).focus()
    await pilot.press("enter")
    await _until(pilot, lambda: dialog.result is not None or dialog.error, "export finished")
    await pilot.pause()
    return dialog


async def test_export_key_commits_the_moment_shown(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = await _export(app, pilot, repo)
        assert dialog.error == ""
        commit = dialog.result.commit
        assert commit and commit in screen_text(app)  # the id is shown in the dialog
        assert git(repo, "rev-parse", "HEAD").strip() == commit
        # the commit is dated at the moment shown, not now
        assert git(repo, "log", "-1", "--format=%at").strip() == str(testing.at(140) // 10**9)
        assert any(f.endswith("deployments.apps/api.yaml") for f in git(repo, "ls-files").split())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)

        # what is in view: the pods of the table exactly (owned objects included on purpose)
        app.browser.run_command("pods default")
        await pilot.pause()
        shown = sorted(k.name for k in app.browser.model.keys_in(0, len(app.browser.model)))
        dialog = await _export(app, pilot, tmp_path / "view", "scope-view")
        assert dialog.result.commit, dialog.error
        files = git(tmp_path / "view", "ls-files").split()
        assert sorted(Path(f).stem for f in files if "/pods/" in f) == shown
        assert all("/pods/" in f or f.startswith(".") for f in files)
    assert remembered()["repo"] == str(tmp_path / "view")  # offered next time


async def test_the_dialog_never_prefills_a_previous_exports_branch(make_app, tmp_path, monkeypatch):
    # an export to branch "incident-42", then the dialog again: the branch field is empty (it
    # said incident-42, and Enter put the next moment on that branch unnoticed)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("E")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        dialog.query_one("#export-repo", Input).value = str(repo)
        dialog.query_one("#export-branch", Input).value = "incident-42"
        dialog.query_one("#export-repo", Input).focus()
        await pilot.press("enter")
        await _until(pilot, lambda: dialog.result is not None or dialog.error, "export")
        assert dialog.result.branch.endswith("incident-42"), dialog.error
        await pilot.press("escape", "E")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, ExportScreen) and again is not dialog
        assert again.query_one("#export-repo", Input).value == str(repo)  # the repo is kept
        assert again.query_one("#export-branch", Input).value == ""
    assert "incident-42" not in remembered().values()


async def test_an_earlier_moment_on_a_later_branch_warns_and_offers_a_new_branch(
    make_app, tmp_path, monkeypatch
):
    # main holds 09:02:20; exporting 09:00:30 on top made a commit dated before its parent
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = await _export(app, pilot, repo)
        assert first.result.commit, first.error
        await pilot.press("escape")
        app.playback.seek(testing.at(30))  # before web-config's edit: another state
        await pilot.pause()
        dialog = await _export_until(app, pilot, repo, lambda d: "back in time" in text_of(d))
        assert dialog.result is None
        assert "dated 2026-03-14 09:02:20, after 2026-03-14 09:00:30" in text_of(dialog)
        branch = dialog.query_one("#export-branch", Input)
        assert branch.value == "khronoscope-20260314-090030"
        assert git(repo, "rev-list", "--count", "main").strip() == "1"  # nothing committed
        dialog.query_one("#export-repo", Input).focus()
        await pilot.press("enter")  # Export again: to the new branch
        await _until(pilot, lambda: dialog.result is not None or dialog.error, "export")
        assert dialog.result.commit, dialog.error
        new = git(repo, "log", "-1", "--format=%at", "khronoscope-20260314-090030").strip()
        assert new == str(testing.at(30) // 10**9)
        assert git(repo, "rev-list", "--count", "main").strip() == "1"
        branch.value = ""  # back to the current branch, on purpose: asked once, then done
        dialog.result = None
        await pilot.press("enter")
        await _until(pilot, lambda: dialog.result is not None or dialog.error, "export")
        assert dialog.result.commit, dialog.error
        assert git(repo, "rev-list", "--count", "main").strip() == "2"


def text_of(dialog: ExportScreen) -> str:
    return str(dialog.query_one("#export-result").render())


async def _export_until(app, pilot, repo: Path, done) -> ExportScreen:
    await pilot.press("E")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ExportScreen)
    dialog.query_one("#export-repo", Input).value = str(repo)
    dialog.query_one("#export-repo", Input).focus()
    await pilot.press("enter")
    await _until(pilot, lambda: done(dialog) or dialog.result is not None or dialog.error, "x")
    await pilot.pause()
    return dialog


async def test_export_errors_are_one_line_in_the_dialog(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "afile").write_text("not a repository")
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = await _export(app, pilot, tmp_path / "afile")
        assert dialog.result is None and "is a file" in dialog.error
        assert "\n" not in dialog.error
        # the dialog wraps a long path's message (where depends on the temp dir's length):
        # read it as words, without the dialog's frame
        shown = " ".join(re.sub(r"[^\x20-\x7e]", " ", screen_text(app)).split())
        assert "is a file, not a directory" in shown


async def test_drift_view_at_the_exported_moment_then_earlier(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _export(app, pilot, repo)
        await pilot.press("escape")
        app.browser.run_command(f"drift {repo}")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, DriftScreen)
        await _until(pilot, lambda: view.report is not None or view.error, "drift computed")
        assert not view.report.has_drift
        assert "0 changed · 0 only in the cluster · 0 only in Git" in screen_text(app)
        # earlier, the Deployments were still rolling out: drift names the fields
        app.playback.seek(testing.at(30))
        await pilot.press("r")
        await _until(pilot, lambda: not view.computing, "drift recomputed")
        await pilot.pause()
        assert view.report.has_drift and view.report.t == testing.at(30)
        changed = {str(item.key): item.paths for item in view.report.changed}
        assert changed and all(changed.values()), changed
        drawn = screen_text(app)
        assert "changed (" in drawn and next(iter(changed.values()))[0] in drawn
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DriftScreen)


async def test_drift_errors_and_the_binding(make_app, tmp_path):
    app = make_app(140)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.browser.run_command(f"drift {tmp_path / 'none'}")
        await pilot.pause()
        view = app.screen
        await _until(pilot, lambda: not view.computing and view.error, "error shown")
        assert "\n" not in view.error and "none" in view.error
        await pilot.press("escape")
        await pilot.press("ctrl+g")  # opens :drift on the command line, the last repo filled in
        await pilot.pause()
        assert f"drift {tmp_path / 'none'}" in screen_text(app)


def test_drift_arguments():
    t = parse_drift_args("/r --path apps/prod --rev v1")
    assert (t.repo, t.path, t.rev) == ("/r", "apps/prod", "v1")
    assert parse_drift_args("'/with space'").repo == "/with space"
    for bad, msg in (("", "usage"), ("/r --color", "unknown option"), ("/a /b", "one repository")):
        try:
            parse_drift_args(bad)
        except ValueError as err:
            assert msg in str(err)
        else:
            raise AssertionError(bad)
