"""A range as dated history, and drift against an export and against GitOps manifests."""

from __future__ import annotations

import pytest

from khronoscope.core.timefmt import NS, format_iso
from khronoscope.export import CompareMode, compute_drift, export_moment, export_range, yamlfmt
from khronoscope.export.target import ExportError
from tests.export.conftest import all_blobs, git
from tests.export.scenario import PASSWORD, PASSWORD2, TOKEN, b64, configmap


def test_range_is_one_dated_commit_per_moment_the_tree_changed(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    seen = []
    result = export_range(src, t["base"], t["event"], repo, progress=lambda d, n: seen.append(d))
    # status-only churn, owned pods, a rotated (redacted) value and an event make no commit
    expected = ["base", "image", "cm_deleted", "cm_recreated", "new_key"]
    assert [m for m, _ in result.commits] == [t[name] for name in expected]
    dates = git(repo, "log", "--reverse", "--format=%ad", "--date=raw").splitlines()
    assert dates == [f"{t[name] // NS} +0000" for name in expected]
    subjects = git(repo, "log", "--reverse", "--format=%s").splitlines()
    assert subjects[1] == f"snapshot kind-test @ {format_iso(t['image'])}: +0 ~1 -0"
    assert subjects[2].endswith(": +0 ~0 -1") and subjects[3].endswith(": +1 ~0 -0")
    # every commit's tree is the tree a single export of that moment gives
    for name, (_, commit) in zip(expected, result.commits, strict=True):
        single = tmp_path / f"single-{name}"
        export_moment(src, t[name], single)
        assert git(repo, "rev-parse", f"{commit}^{{tree}}") == git(
            single, "rev-parse", "HEAD^{tree}"
        ), name
    assert seen[-1] == result.changes == 8 and seen == sorted(seen)
    assert git(repo, "status", "--porcelain") == ""
    for blob in all_blobs(repo):
        for value in (PASSWORD, PASSWORD2, TOKEN):
            assert value.encode() not in blob and b64(value).encode() not in blob


def test_range_rerun_resumes_after_the_tip(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    first = export_range(src, t["base"], t["cm_deleted"], repo)
    assert len(first.commits) == 3
    again = export_range(src, t["base"], t["cm_deleted"], repo)
    assert again.commits == [] and again.resumed_from == t["cm_deleted"]
    more = export_range(src, t["base"], t["event"], repo)
    assert [m for m, _ in more.commits] == [t["cm_recreated"], t["new_key"]]
    assert int(git(repo, "rev-list", "--count", "HEAD")) == 5


def test_range_renders_only_changed_objects(scenario, tmp_path, monkeypatch):
    src, t = scenario
    calls = []
    real = yamlfmt.dump

    def counting(obj, **kwargs):
        if isinstance(obj, dict) and "kind" in obj:
            calls.append(obj["kind"])
        return real(obj, **kwargs)

    monkeypatch.setattr(yamlfmt, "dump", counting)
    export_range(src, t["base"], t["event"], tmp_path / "r")
    initial = len(src.tmap.keys_at(t["base"]))
    # the state at t1 once, then one YAML file per change in scope that shows in the file
    # (status-only churn, owned pods and the event write none)
    assert 0 < len(calls) <= initial + 8


def test_range_bad_input(scenario, tmp_path):
    src, t = scenario
    with pytest.raises(ExportError, match="range is empty"):
        export_range(src, t["event"], t["base"], tmp_path / "r")
    with pytest.raises(ExportError, match="outside the recorded range"):
        export_range(src, t["base"], t["event"] + 3600 * NS, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_drift_against_an_export(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "r"
    export_moment(src, t["base"], repo)
    same = compute_drift(src, t["base"], repo)
    assert same.mode is CompareMode.EXACT and not same.has_drift and same.exit_status == 0
    assert same.same == 16
    later = compute_drift(src, t["event"], repo)
    assert later.exit_status == 1
    changed = {str(item.key): item for item in later.changed}
    assert set(changed) == {
        "deployments.apps/app/web",
        "configmaps/app/app-config",
        "secrets/app/db-creds",
    }
    web = changed["deployments.apps/app/web"]
    assert web.paths == ["spec.template.spec.containers[web].image"]
    assert "-      - image: web:1.0" in web.diff and "+      - image: web:1.1" in web.diff
    assert changed["secrets/app/db-creds"].paths == ["data.token"]
    assert TOKEN not in changed["secrets/app/db-creds"].diff
    # an object only in the cluster, one only in Git
    src.put(t["event"] + NS, configmap("brand-new", {"a": "b"}))
    src.delete(
        t["event"] + NS,
        src.types["services"].key_of({"metadata": {"name": "web", "namespace": "app"}}),
    )
    drift = compute_drift(src, t["event"] + NS, repo)
    assert [str(i.key) for i in drift.only_in_cluster] == ["configmaps/app/brand-new"]
    assert [(str(i.key), i.git_path) for i in drift.only_in_git] == [
        ("services/app/web", "app/services/web.yaml")
    ]


GITOPS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  labels: {app: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        image: web:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: web-headless
  namespace: app
spec:
  clusterIP: None
  ports:
  - port: 80
"""


def test_drift_against_gitops_manifests_compares_declared_fields(scenario, tmp_path):
    src, t = scenario
    repo = tmp_path / "gitops"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "apps").mkdir()
    (repo / "apps/web.yaml").write_text(GITOPS)
    (repo / "apps/kustomization.yaml").write_text("resources: [web.yaml]\n")
    (repo / "apps/broken.yaml").write_text("a: [unclosed\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "desired state")
    at_base = compute_drift(src, t["base"], repo, path="apps", scope=None)
    assert at_base.mode is CompareMode.DECLARED
    assert at_base.changed == [] and at_base.same == 2  # defaults in the cluster are not drift
    assert any("broken.yaml" in p for p in at_base.problems)
    assert "configmaps/app/app-config" in {str(i.key) for i in at_base.only_in_cluster}
    later = compute_drift(src, t["image"], repo, rev="main", path="apps")
    assert [(str(i.key), i.paths) for i in later.changed] == [
        ("deployments.apps/app/web", ["spec.template.spec.containers[web].image"])
    ]
    assert later.exit_status == 1


def test_drift_bad_input(scenario, tmp_path):
    src, t = scenario
    from khronoscope.export.git import GitError

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.yaml").write_text("a: b\n")
    with pytest.raises(GitError, match="not a Git repository"):
        compute_drift(src, t["base"], plain)
    export_moment(src, t["base"], tmp_path / "r")
    with pytest.raises(ExportError, match="not a commit"):
        compute_drift(src, t["base"], tmp_path / "r", rev="no-such-branch")
    with pytest.raises(ExportError, match="no Kubernetes manifests in wrong/path/"):
        compute_drift(src, t["base"], tmp_path / "r", path="wrong/path")
