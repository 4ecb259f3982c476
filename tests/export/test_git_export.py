"""Export of one moment into real repositories, checked with the git command itself."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from khronoscope.core.timefmt import NS, format_iso
from khronoscope.core.types import ObjectKey
from khronoscope.export import ExportScope, SecretsMode, export_moment
from khronoscope.export.git import GitError
from khronoscope.export.target import ExportError
from tests.export.conftest import all_blobs, git, tree_files
from tests.export.scenario import PASSWORD, PASSWORD2, T0, TOKEN, b64


def head_tree(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def commit_count(repo: Path, rev: str = "HEAD") -> int:
    return int(git(repo, "rev-list", "--count", rev).strip())


def test_moment_export_commit_dates_trailers_identity(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "new" / "repo"  # missing: initialised
    result = export_moment(src, t["image"] + 123_456_789, repo)
    assert result.commit and result.created_repo
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    # author date = the moment (seconds), committer date = now
    assert git(repo, "log", "-1", "--format=%ad", "--date=raw").strip() == (
        f"{(t['image'] + 123_456_789) // NS} +0000"
    )
    committed = int(git(repo, "log", "-1", "--format=%cd", "--date=unix").strip())
    assert committed > t["event"] // NS
    # the tool identity, never the user's configured one; not signed although config says so
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip() == (
        "khronoscope <khronoscope@localhost>|khronoscope <khronoscope@localhost>"
    )
    body = git(repo, "log", "-1", "--format=%B")
    subject = body.splitlines()[0]
    assert subject == f"snapshot kind-test @ {format_iso(t['image'] + 123_456_789)}: +16 ~0 -0"
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)")
    assert f"Khronoscope-Time: {format_iso(t['image'] + 123_456_789)}" in trailers
    assert "Khronoscope-Cluster: kind-test" in trailers and "Khronoscope-Format: 1" in trailers
    assert "A app/deployments.apps/web.yaml" in body
    # the checked-out branch of the new repository was fast-forwarded: files present, clean
    assert git(repo, "status", "--porcelain").strip() == ""
    assert (repo / "app/deployments.apps/web.yaml").read_text().count("image: web:1.1") == 1


def test_layout_of_the_tree(scenario, tmp_path):
    src, t = scenario
    export_moment(src, t["base"], tmp_path / "r")
    files = tree_files(tmp_path / "r")
    assert set(files) == {
        ".khronoscope-export.yaml",
        "_cluster/clusterroles.rbac.authorization.k8s.io/system%3Acontroller%3Ajob-controller.yaml",
        "_cluster/namespaces/app.yaml",
        "_cluster/namespaces/default.yaml",
        "_cluster/namespaces/kube-system.yaml",
        "app/configmaps/%55pper.%43ase.yaml",
        "app/configmaps/" + next(p for p in files if "aaaa" in p).split("/")[-1],
        "app/configmaps/app-config.yaml",
        "app/configmaps/dotted.name.v2.yaml",
        "app/deployments.apps/web.yaml",
        "app/deployments.other.io/web.yaml",  # the same kind in another group, apart
        "app/persistentvolumeclaims/data.yaml",
        "app/secrets/db-creds.yaml",
        "app/services/web-headless.yaml",
        "app/services/web.yaml",
        "app/widgets.example.com/%C3%BCn%C3%AF-c%C3%B6d%C3%A9.yaml",
        "app/widgets.example.com/w1.yaml",
    }
    long_file = next(p for p in files if "aaaa" in p).split("/")[-1]
    assert len(long_file) <= 205 and "_" in long_file
    assert b"apiVersion: other.io/v1beta1" in files["app/deployments.other.io/web.yaml"]
    assert b"clusterIP: None" in files["app/services/web-headless.yaml"]
    assert b"clusterIP" not in files["app/services/web.yaml"]
    assert b"emptyDir: {}" in files["app/deployments.apps/web.yaml"]
    assert b"volumeName" not in files["app/persistentvolumeclaims/data.yaml"]
    cm = files["app/configmaps/app-config.yaml"].decode()
    assert 'flag: "on"' in cm and 'sci: "1e3"' in cm and 'zero: "08"' in cm
    assert "  settings.yaml: |\n    mode: on\n" in cm
    meta = files[".khronoscope-export.yaml"].decode()
    assert "secrets: redact" in meta and "- deployments.other.io" in meta
    for content in files.values():
        assert b"resourceVersion" not in content and b"uid:" not in content
        assert b"managedFields" not in content and b"last-applied" not in content


def test_same_state_twice_gives_no_second_commit_and_trees_are_deterministic(
    scenario, tmp_path, monkeypatch
):
    src, t = scenario
    first = export_moment(src, t["image"], tmp_path / "a")
    # the status-only changes after it leave the exported tree as it was
    again = export_moment(src, t["status"], tmp_path / "a")
    assert again.commit is None and again.counts.total == 0
    assert commit_count(tmp_path / "a") == 1
    # same inputs, another machine (timezone, locale): the same tree, byte for byte
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    other = export_moment(src, t["image"], tmp_path / "b")
    assert head_tree(tmp_path / "a") == head_tree(tmp_path / "b")
    assert first.commit and other.commit


def test_deleted_and_recreated_object(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["image"], repo)
    deleted = export_moment(src, t["cm_deleted"], repo)
    assert (deleted.counts.added, deleted.counts.modified, deleted.counts.deleted) == (0, 0, 1)
    assert "app/configmaps/app-config.yaml" not in tree_files(repo)
    assert not (repo / "app/configmaps/app-config.yaml").exists()
    back = export_moment(src, t["cm_recreated"], repo)
    assert back.counts.added == 1
    assert b'flag: "off"' in tree_files(repo)["app/configmaps/app-config.yaml"]
    log = git(repo, "log", "--format=%s").splitlines()
    assert log[0].endswith(": +1 ~0 -0") and log[1].endswith(": +0 ~0 -1")


def test_forbidden_type_keeps_its_files(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    # from now on Secrets cannot be read; the recorded one disappears from the map's view
    src.delete(t["cm_deleted"], ObjectKey("secrets", "app", "db-creds"))
    src.forbid("secrets", t["cm_deleted"])
    result = export_moment(src, t["cm_deleted"], repo)
    files = tree_files(repo)
    assert "app/secrets/db-creds.yaml" in files
    assert "app/configmaps/app-config.yaml" not in files
    assert result.kept == {"secrets": src.statuses["secrets"].state}
    assert "Kept as before (not readable at this moment): secrets (forbidden)" in git(
        repo, "log", "-1", "--format=%B"
    )


def test_no_secret_value_in_any_blob(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    for name in ("base", "image", "rotated", "new_key", "event"):
        export_moment(src, t[name], repo, scope=ExportScope(include_skipped=True))
    blobs = all_blobs(repo)
    assert len(blobs) > 10
    secrets = [PASSWORD, PASSWORD2, TOKEN]
    for blob in blobs:
        for value in secrets:
            assert value.encode() not in blob
            assert b64(value).encode() not in blob
    secret_file = tree_files(repo)["app/secrets/db-creds.yaml"].decode()
    assert "password: <redacted>" in secret_file and "token: <redacted>" in secret_file
    # the service-account token Secret is exported with --include-skipped, still redacted
    assert "token: <redacted>" in tree_files(repo)["app/secrets/default-token-x.yaml"].decode()


def test_secrets_omit_and_plaintext(scenario, tmp_path):
    src, t = scenario
    export_moment(src, t["base"], tmp_path / "o", scope=ExportScope(secrets=SecretsMode.OMIT))
    assert not any("/secrets/" in p for p in tree_files(tmp_path / "o"))
    plain = ExportScope(secrets=SecretsMode.PLAINTEXT)
    export_moment(src, t["base"], tmp_path / "p", scope=plain)
    content = tree_files(tmp_path / "p")["app/secrets/db-creds.yaml"]
    assert b64(PASSWORD).encode() in content
    # the rest of the sanitizing still applies
    assert b"last-applied-configuration" not in content


def test_filters_and_prefix(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    scope = ExportScope(
        namespaces=frozenset({"app"}),
        types=frozenset({"configmaps", "namespaces"}),
        prefix="clusters/kind",
    )
    export_moment(src, t["base"], repo, scope=scope)
    files = set(tree_files(repo))
    assert "clusters/kind/_cluster/namespaces/app.yaml" in files
    assert "clusters/kind/_cluster/namespaces/default.yaml" not in files
    assert {p.split("/")[3] for p in files if p.count("/") == 4} == {"configmaps", "namespaces"}
    meta = tree_files(repo)["clusters/kind/.khronoscope-export.yaml"].decode()
    assert "namespaces:\n  - app" in meta
    # "what is in view": exactly these objects
    keys = frozenset({ObjectKey("deployments.apps", "app", "web")})
    export_moment(src, t["base"], tmp_path / "v", scope=ExportScope(keys=keys))
    assert set(tree_files(tmp_path / "v")) == {
        ".khronoscope-export.yaml",
        "app/deployments.apps/web.yaml",
    }


def test_user_index_work_tree_and_hooks_untouched(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "user"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("mine\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "init")
    # staged and unstaged work in progress, and hooks that leave a mark if they ever run
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "README.md").write_text("mine, edited\n")
    status_before = git(repo, "status", "--porcelain")
    marker = tmp_path / "hook-ran"
    hooks = repo / ".git" / "hooks"
    for hook in (
        "reference-transaction",
        "post-commit",
        "pre-commit",
        "post-checkout",
        "post-index-change",
        "pre-auto-gc",
        "post-rewrite",
    ):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    index_before = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    head_before = git(repo, "rev-parse", "HEAD")
    config_before = (repo / ".git" / "config").read_bytes()

    result = export_moment(src, t["image"], repo, branch="cluster-history")
    # checked before running any git command here (a `git status` may run post-index-change)
    assert not marker.exists(), marker.read_text()
    assert hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest() == index_before
    assert result.commit
    assert git(repo, "rev-parse", "refs/heads/cluster-history").strip() == result.commit
    assert git(repo, "--no-optional-locks", "status", "--porcelain") == status_before
    assert git(repo, "rev-parse", "HEAD") == head_before
    assert (repo / ".git" / "config").read_bytes() == config_before
    assert (repo / "README.md").read_text() == "mine, edited\n"
    assert not (repo / "app").exists()
    assert git(repo, "for-each-ref", "refs/khronoscope").strip() == ""  # no temporary ref left
    # the branch holds only the export (its own root commit), not the user's files
    assert "README.md" not in tree_files(repo, "cluster-history")


def test_refuses_dirty_checked_out_branch_and_changes_nothing(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    (repo / "app/deployments.apps/web.yaml").write_text("local edit\n")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError, match="uncommitted changes"):
        export_moment(src, t["image"], repo)
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "app/deployments.apps/web.yaml").read_text() == "local edit\n"
    # another branch is fine
    assert export_moment(src, t["image"], repo, branch="other").commit


def test_clean_checked_out_branch_is_fast_forwarded_keeping_untracked_files(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    (repo / "notes.txt").write_text("untracked\n")
    export_moment(src, t["cm_deleted"], repo)
    assert not (repo / "app/configmaps/app-config.yaml").exists()
    assert b"web:1.1" in (repo / "app/deployments.apps/web.yaml").read_bytes()
    assert (repo / "notes.txt").read_text() == "untracked\n"
    assert git(repo, "status", "--porcelain") == "?? notes.txt\n"
    assert git(repo, "reflog", "-1", "--format=%gs").startswith("khronoscope export: snapshot")


def test_detached_head_needs_a_branch(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    git(repo, "checkout", "-q", "--detach", "HEAD")
    with pytest.raises(GitError, match="detached"):
        export_moment(src, t["image"], repo)
    assert commit_count(repo, "main") == 1
    assert export_moment(src, t["image"], repo, branch="main").commit
    assert commit_count(repo, "main") == 2


def test_bare_repository(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(repo))
    result = export_moment(src, t["base"], repo)
    assert result.commit and git(repo, "rev-parse", "main").strip() == result.commit
    assert "app/deployments.apps/web.yaml" in tree_files(repo, "main")


def test_bad_targets_are_refused_with_one_line_and_nothing_written(scenario, tmp_path):
    src, t = scenario
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(GitError, match="is a file"):
        export_moment(src, t["base"], a_file)
    assert a_file.read_text() == "x"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.txt").write_text("keep")
    with pytest.raises(GitError, match="not a Git repository"):
        export_moment(src, t["base"], plain)
    assert sorted(os.listdir(plain)) == ["data.txt"]
    with pytest.raises(ExportError, match="outside the recorded range"):
        export_moment(src, T0 - NS, tmp_path / "never")
    assert not (tmp_path / "never").exists()
    # a subdirectory of a repository is not its root
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    with pytest.raises(GitError, match="not its root"):
        export_moment(src, t["base"], repo / "app")


def test_branch_with_other_content_is_refused_but_a_readme_beside_an_export_survives(
    scenario, tmp_path
):
    src, t = scenario
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "apps").mkdir()
    (repo / "apps" / "web").mkdir()
    (repo / "apps/web/deploy.yaml").write_text("kind: Deployment\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "gitops")
    with pytest.raises(ExportError, match="not a khronoscope export"):
        export_moment(src, t["base"], repo)
    assert commit_count(repo) == 1
    # an export with a README added by a person keeps the README across exports
    exp = tmp_path / "e"
    export_moment(src, t["base"], exp)
    (exp / "README.md").write_text("cluster history\n")
    git(exp, "add", "README.md")
    git(exp, "commit", "-qm", "readme")
    export_moment(src, t["cm_deleted"], exp)
    assert tree_files(exp)["README.md"] == b"cluster history\n"


def test_git_missing_is_one_clear_error(scenario, tmp_path, monkeypatch):
    src, t = scenario
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GitError, match="git is not installed"):
        export_moment(src, t["base"], tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_branch_moved_meanwhile_is_not_overwritten(scenario, tmp_path, monkeypatch):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    from khronoscope.export import target as target_mod

    real_publish = target_mod.publish

    def racing_publish(tg, new, reflog):
        # someone commits to the branch between our read of its tip and our update
        (repo / "x.txt").write_text("x")
        git(repo, "add", "x.txt")
        git(repo, "commit", "-qm", "concurrent")
        real_publish(tg, new, reflog)

    monkeypatch.setattr("khronoscope.export.moment.publish", racing_publish)
    with pytest.raises(GitError, match="moved while exporting"):
        export_moment(src, t["image"], repo)
    assert git(repo, "log", "-1", "--format=%s").strip() == "concurrent"


def test_a_rotated_secret_is_a_commit_with_its_fingerprints(scenario, tmp_path):
    # what a session stores (values fingerprinted at ingest): the default export commits a
    # rotation (before, every value was the same marker and the rotation left no commit)
    from khronoscope.cluster.redact import SecretRedactor
    from tests.export.scenario import secret

    src, t = scenario
    ingest = SecretRedactor(b"session-salt-123")
    src.put(t["rotated"], ingest(secret({"password": PASSWORD, "user": "admin"}, name="fp")))
    src.put(t["event"], ingest(secret({"password": PASSWORD2, "user": "admin"}, name="fp")))
    repo = tmp_path / "r"
    export_moment(src, t["rotated"], repo)
    before = tree_files(repo)["app/secrets/fp.yaml"].decode()
    export_moment(src, t["event"], repo)
    after = tree_files(repo)["app/secrets/fp.yaml"].decode()
    assert before != after
    changed = git(repo, "diff", "HEAD~1", "HEAD", "--", "app/secrets/fp.yaml")
    assert "-  password: <redacted:" in changed and "+  password: <redacted:" in changed
    assert "-  user:" not in changed  # the unchanged key keeps its fingerprint
    for blob in all_blobs(repo):
        for value in (PASSWORD, PASSWORD2):
            assert value.encode() not in blob and b64(value).encode() not in blob
