"""No typo destroys an export: unknown names are refused, a scoped export stays in its scope,
odd namespaces cannot clash with Git or the export's own files, and the repository's own
commands (fsmonitor) never run; a copied repository (stale index) still takes an export."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from khronoscope import cli
from khronoscope.commands import _history
from khronoscope.core.timefmt import NS, format_iso
from khronoscope.export import (
    CompareMode,
    ExportScope,
    compute_drift,
    export_moment,
    format_report,
)
from khronoscope.export.layout import METADATA_FILE
from tests.export.conftest import git, tree_files
from tests.export.scenario import configmap, meta


@pytest.fixture
def recorded(scenario, monkeypatch):
    """The seeded history, plus a second namespace with objects, as `--recording f`."""
    src, t = scenario
    src.put(t["base"], configmap("other-config", {"k": "v"}, namespace="default"))
    src.put(t["image"], configmap("other-config", {"k": "v2"}, namespace="default"))
    src.put(t["image"], configmap("app-extra", {"k": "new"}))
    monkeypatch.setattr(_history, "open_recording", lambda path, **_: src)
    return src, t


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _state(repo: Path) -> tuple[str, dict[str, bytes]]:
    return git(repo, "rev-parse", "HEAD").strip(), tree_files(repo)


def _full_export(capsys, repo: Path, at: int) -> dict[str, bytes]:
    code, _, err = run(
        capsys, "export", "--recording", "f", "--at", format_iso(at), "--repo", str(repo)
    )
    assert code == 0, err
    return tree_files(repo)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["-t", "nosuchtype"], "unknown type 'nosuchtype'"),
        (["-t", "configmaps,nosuchtype"], "unknown type 'nosuchtype'"),
        (["-n", "nosuchns"], "unknown namespace 'nosuchns'"),
        (["-n", "app,nosuchns"], "unknown namespace 'nosuchns'"),
        (["-n", "Bad NS!"], "is not a namespace name"),
    ],
)
def test_an_unknown_type_or_namespace_is_refused_and_the_branch_untouched(
    recorded, tmp_path, capsys, argv, says
):
    _src, t = recorded
    repo = tmp_path / "r"
    files = _full_export(capsys, repo, t["base"])
    assert len([p for p in files if p != METADATA_FILE]) > 10
    before = _state(repo)
    for extra in ([], ["--from", format_iso(t["base"])]):
        at = [] if extra else ["--at", format_iso(t["image"])]
        code, out, err = run(
            capsys, "export", "--recording", "f", "--repo", str(repo), *at, *extra, *argv
        )
        assert code == 2, err
        assert err.count("\n") == 1 and says in err, err
        assert out == ""
        assert _state(repo) == before


def test_a_type_scoped_export_writes_and_removes_only_its_type(recorded, tmp_path, capsys):
    _src, t = recorded
    repo = tmp_path / "r"
    full = _full_export(capsys, repo, t["base"])
    others = {p: d for p, d in full.items() if "/configmaps/" not in p and p != METADATA_FILE}
    assert others
    code, out, err = run(
        capsys, "export", "--recording", "f", "--at", format_iso(t["cm_deleted"]),
        "--repo", str(repo), "-t", "configmaps",
    )  # fmt: skip
    assert code == 0, err
    after = tree_files(repo)
    # every file of another type is still there, byte for byte
    assert {p: d for p, d in after.items() if p in others} == others
    # and the configmaps are those of the later moment (app-config deleted, edits applied)
    assert b"v2" in after["default/configmaps/other-config.yaml"]
    assert (
        "app/configmaps/app-config.yaml" in full and "app/configmaps/app-config.yaml" not in after
    )
    assert "-1" in out and "~1" in out


def test_a_namespace_scoped_export_leaves_other_namespaces_and_cluster_objects(
    recorded, tmp_path, capsys
):
    _src, t = recorded
    repo = tmp_path / "r"
    full = _full_export(capsys, repo, t["base"])
    outside = {
        p: d
        for p, d in full.items()
        if not p.startswith("default/")
        and p != "_cluster/namespaces/default.yaml"
        and p != METADATA_FILE
    }
    code, _, err = run(
        capsys, "export", "--recording", "f", "--at", format_iso(t["image"]),
        "--repo", str(repo), "-n", "default",
    )  # fmt: skip
    assert code == 0, err
    after = tree_files(repo)
    assert {p: d for p, d in after.items() if p in outside} == outside
    assert b"v2" in after["default/configmaps/other-config.yaml"]
    # the new object of app at that moment is not this export's to write
    assert "app/configmaps/app-extra.yaml" not in after


def test_a_scoped_range_export_keeps_everything_outside_its_scope_in_every_commit(
    recorded, tmp_path, capsys
):
    _src, t = recorded
    repo = tmp_path / "r"
    full = _full_export(capsys, repo, t["base"])
    tip = git(repo, "rev-parse", "HEAD").strip()
    others = {p: d for p, d in full.items() if "/configmaps/" not in p and p != METADATA_FILE}
    code, out, err = run(
        capsys, "export", "--recording", "f", "--from", format_iso(t["base"]),
        "--repo", str(repo), "-t", "cm",
    )  # fmt: skip
    assert code == 0, err
    commits = git(repo, "rev-list", f"{tip}..HEAD").split()
    assert len(commits) >= 2, out
    for commit in commits:
        files = tree_files(repo, commit)
        assert {p: d for p, d in files.items() if p in others} == others, commit


def test_the_metadata_keeps_the_scope_of_what_the_branch_holds(recorded, tmp_path, capsys):
    """A scoped export on top of a whole-cluster export must not make drift's exact comparison
    think the branch holds only that scope."""
    src, t = recorded
    repo = tmp_path / "r"
    _full_export(capsys, repo, t["image"])
    code, _, err = run(
        capsys, "export", "--recording", "f", "--at", format_iso(t["image"]),
        "--repo", str(repo), "-t", "cm", "-n", "app",
    )  # fmt: skip
    assert code == 0, err
    meta_text = tree_files(repo)[METADATA_FILE].decode()
    assert "namespaces:" not in meta_text and "types:\n" in meta_text
    assert "filters:\n  includeSkipped: false\n" in meta_text
    report = compute_drift(src, t["image"], repo, mode=CompareMode.AUTO)
    assert report.mode is CompareMode.EXACT and report.same > 10
    assert not report.has_drift, format_report(report)
    # a scoped export into a new branch records its own scope
    code, _, err = run(
        capsys, "export", "--recording", "f", "--at", format_iso(t["image"]),
        "--repo", str(repo), "-n", "app", "--branch", "only-app",
    )  # fmt: skip
    assert code == 0, err
    assert "namespaces:\n  - app" in tree_files(repo, "only-app")[METADATA_FILE].decode()


@pytest.mark.parametrize("namespace", [".khronoscope-export.yaml", ".git", "..", ".", ".hidden"])
def test_a_namespace_named_like_git_or_the_metadata_file_cannot_clash(
    scenario, tmp_path, namespace
):
    """Kubernetes forbids such namespaces, but a recording is a file anyone can write: the
    export escapes them like any odd name, and what they hold comes back out unchanged."""
    src, t = scenario
    at = t["base"] + NS
    src.put(at, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace)})
    src.put(at, configmap("inside", {"k": "odd"}, namespace=namespace))
    repo = tmp_path / "r"
    result = export_moment(src, at, repo)
    assert result.commit
    files = tree_files(repo)
    escaped = "%2E" + namespace[1:]
    assert f"{escaped}/configmaps/inside.yaml" in files
    assert all(not p.startswith(f"{namespace}/") for p in files)
    assert b"\nformat: 1\n" in files[METADATA_FILE]
    assert not (repo / ".git" / "configmaps").exists()
    assert (repo / escaped / "configmaps" / "inside.yaml").read_bytes() == files[
        f"{escaped}/configmaps/inside.yaml"
    ]
    # drift reads the escaped directory back as that namespace: no drift
    report = compute_drift(src, at, repo)
    assert not report.has_drift, format_report(report)


def test_the_repository_fsmonitor_never_runs(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    marker = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "fsmonitor.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))
    git(repo, "status", "--porcelain")  # git itself runs it: the trap is armed
    assert marker.exists()
    marker.unlink()
    result = export_moment(src, t["image"], repo)  # the branch is checked out: status, read-tree
    assert result.commit
    assert not marker.exists()


def test_a_copied_repository_with_a_stale_index_takes_the_export(scenario, tmp_path):
    src, t = scenario
    first = tmp_path / "first"
    export_moment(src, t["base"], first)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(first), str(copy)], check=True)  # new inodes, stale index
    result = export_moment(src, t["image"], copy)
    assert result.commit
    assert git(copy, "status", "--porcelain") == ""
    assert tree_files(copy) == {
        p: (copy / p).read_bytes() for p in tree_files(copy)
    }  # the work tree followed the branch


def test_a_file_in_the_way_is_named_with_what_to_do(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo, scope=ExportScope(namespaces=frozenset({"app"})))
    before = git(repo, "rev-parse", "HEAD")
    blocker = repo / "default" / "configmaps"
    blocker.mkdir(parents=True)
    (blocker / "later.yaml").write_text("mine")
    src.put(t["image"], configmap("later", {"k": "v"}, namespace="default"))
    with pytest.raises(Exception) as err:
        export_moment(src, t["image"], repo)
    message = str(err.value)
    assert "default/configmaps/later.yaml" in message and "--branch" in message, message
    assert "try again" not in message
    assert git(repo, "rev-parse", "HEAD") == before
    assert (blocker / "later.yaml").read_text() == "mine"
    shutil.rmtree(blocker)


def test_an_export_of_the_objects_in_view_adds_them_and_changes_nothing_else(scenario, tmp_path):
    """The app's "what is in view" export (owned objects included) on a whole-cluster branch:
    those files are written, every other file stays, and drift still compares the cluster."""
    from khronoscope.core.types import ObjectKey

    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    before = tree_files(repo)
    pod = ObjectKey("pods", "app", "web-abc-x1")
    view = ExportScope(keys=frozenset({pod}), include_skipped=True)
    export_moment(src, t["image"], repo, scope=view)
    after = tree_files(repo)
    assert "app/pods/web-abc-x1.yaml" in after
    assert {p: d for p, d in after.items() if p in before and p != METADATA_FILE} == {
        p: d for p, d in before.items() if p != METADATA_FILE
    }
    filters = [yaml.safe_load(files[METADATA_FILE])["filters"] for files in (before, after)]
    assert filters[0] == filters[1] == {"includeSkipped": False}  # still a whole-cluster export
    # a whole-cluster export afterwards rewrites the tree, the view's pod included
    export_moment(src, t["image"], repo)
    assert "app/pods/web-abc-x1.yaml" not in tree_files(repo)
