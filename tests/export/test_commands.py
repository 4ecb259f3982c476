"""`khronoscope export` and `khronoscope drift` as a user runs them: output, exit status, errors.

`--recording` is served here by the seeded history (monkeypatched opener); the live source is
tested against the simulated cluster in tests/cli/test_export_live.py.
"""

from __future__ import annotations

import pytest

from khronoscope import cli
from khronoscope.commands import _history
from khronoscope.core.timefmt import NS, format_iso
from tests.export.conftest import git


@pytest.fixture
def recorded(scenario, monkeypatch):
    src, t = scenario
    monkeypatch.setattr(_history, "open_recording", lambda path, cache_mb=None: src)
    return src, t


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_at_and_again(recorded, tmp_path, capsys):
    _src, t = recorded
    repo = tmp_path / "r"
    at = format_iso(t["image"])
    code, out, err = run(capsys, "export", "--recording", "f", "--at", at, "--repo", str(repo))
    assert code == 0, err
    assert out.startswith(f"exported kind-test @ {at} to {repo} branch main: commit ")
    assert "(+16 ~0 -0, 16 objects)" in out
    code, out, _ = run(capsys, "export", "--recording", "f", "--at", at, "--repo", str(repo))
    assert code == 0 and out.startswith("nothing changed")
    # relative times count back from the end of the recording
    code, out, _ = run(
        capsys, "export", "--recording", "f", "--at", "-30s", "--repo", str(repo), "-q"
    )
    assert code == 0 and len(out.strip()) == 40
    assert git(repo, "log", "-1", "--format=%ad", "--date=raw").strip() == (
        f"{t['cm_recreated'] // NS} +0000"
    )


def test_export_range_and_filters(recorded, tmp_path, capsys):
    _src, t = recorded
    repo = tmp_path / "r"
    code, out, err = run(
        capsys,
        "export",
        "--recording",
        "f",
        "--from",
        format_iso(t["base"]),
        "--repo",
        str(repo),
        "-n",
        "app",
        "-t",
        "cm,deploy",
        "--branch",
        "history",
    )
    assert code == 0, err
    assert "branch history: 4 commits from 8 changes" in out
    files = git(repo, "ls-tree", "-r", "--name-only", "history").split()
    assert {f.split("/")[1] for f in files if "/" in f} == {"configmaps", "deployments.apps"}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("file", "is a file"),
        ("plain", "not a Git repository"),
        ("dirty", "uncommitted changes"),
        ("detached", "detached"),
        ("nogit", "git is not installed"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_repository_unchanged(
    recorded, tmp_path, capsys, monkeypatch, setup, message
):
    _src, t = recorded
    repo = tmp_path / "r"
    at = format_iso(t["image"])
    if setup == "file":
        repo.write_text("x")
    elif setup == "plain":
        repo.mkdir()
        (repo / "notes").write_text("x")
    elif setup in ("dirty", "detached"):
        assert (
            cli.main(
                [
                    "export",
                    "--recording",
                    "f",
                    "--at",
                    format_iso(t["base"]),
                    "--repo",
                    str(repo),
                    "-q",
                ]
            )
            == 0
        )
        if setup == "dirty":
            (repo / "app/services/web.yaml").write_text("edited")
        else:
            git(repo, "checkout", "-q", "--detach")
    elif setup == "nogit":
        monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    capsys.readouterr()
    before = _snapshot_dir(repo)
    code, out, err = run(capsys, "export", "--recording", "f", "--at", at, "--repo", str(repo))
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert _snapshot_dir(repo) == before


def test_a_moment_outside_the_recording_is_clamped_with_a_line(recorded, tmp_path, capsys):
    """export --at/--from/--to and drift --at treat an out-of-range time as `open --at` and the
    app do: the recording's edge, and one line saying so (before: an error, nothing exported)."""
    src, t = recorded
    start, end = _history.recorded_range(src)
    early, late = format_iso(t["base"] - 3600 * NS), format_iso(end + 3600 * NS)
    repo = tmp_path / "r"
    code, out, err = run(capsys, "export", "--recording", "f", "--at", early, "--repo", str(repo))
    assert code == 0, err
    assert out.startswith(f"exported kind-test @ {format_iso(start)} ")
    assert err.strip() == (
        f"khronoscope: --at {early} is before the recording's start "
        f"({format_iso(start)} .. {format_iso(end)}): using {format_iso(start)}"
    )
    code, out, err = run(
        capsys, "export", "--recording", "f", "--from", early, "--to", late, "--repo",
        str(tmp_path / "r2"),
    )  # fmt: skip
    assert code == 0, err
    assert f"{format_iso(start)} .. {format_iso(end)}" in out
    assert [ln.split(" ")[1] for ln in err.splitlines()] == ["--from", "--to"]
    assert "after the recording's end" in err
    code, out, err = run(capsys, "drift", "--recording", "f", "--at", late, "--repo", str(repo))
    assert code in (0, 1), err
    assert err.startswith(f"khronoscope: --at {late} is after the recording's end")


def _snapshot_dir(path):
    if not path.exists():
        return None
    if path.is_file():
        return path.read_bytes()
    return {
        str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(path.rglob("*"))
        if "objects" not in p.parts and p.name != "index"
    }


def test_drift_exit_status_like_diff(recorded, tmp_path, capsys):
    _src, t = recorded
    repo = tmp_path / "r"
    assert (
        cli.main(
            ["export", "--recording", "f", "--at", format_iso(t["base"]), "--repo", str(repo), "-q"]
        )
        == 0
    )
    capsys.readouterr()
    code, out, _ = run(
        capsys, "drift", "--recording", "f", "--repo", str(repo), "--at", format_iso(t["base"])
    )
    assert code == 0 and out.splitlines()[-1] == (
        "0 changed, 0 only in the cluster, 0 only in Git, 16 the same"
    )
    code, out, _ = run(capsys, "drift", "--recording", "f", "--repo", str(repo))
    assert code == 1
    assert "  deployments.apps/app/web  (app/deployments.apps/web.yaml)" in out
    assert "    spec.template.spec.containers[web].image" in out
    assert "+      - image: web:1.1" in out
    code, out, err = run(capsys, "drift", "--recording", "f", "--repo", str(tmp_path / "none"))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_live_source_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", "")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "")
    code, _, err = run(capsys, "export", "--repo", str(tmp_path / "r"))
    assert code == 1 and "no kubeconfig found" in err and len(err.strip().splitlines()) == 1
    # a live cluster has no past: said before connecting
    code, _, err = run(capsys, "export", "--repo", str(tmp_path / "r"), "--at", "-1h")
    assert code == 2 and "a live cluster only has now" in err and "--recording FILE" in err
    code, _, err = run(capsys, "export", "--repo", str(tmp_path / "r"), "--from", "-1h")
    assert code == 2 and "live cluster only has now" in err
    code, _, err = run(capsys, "drift", "--repo", str(tmp_path), "--at", "-5m")
    assert code == 2 and "a live cluster only has now" in err
    # a missing recording is one clear line too
    code, _, err = run(capsys, "drift", "--recording", "x.kr", "--repo", str(tmp_path))
    assert code == 2 and "x.kr: no such file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
