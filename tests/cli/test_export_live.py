"""`khronoscope export` / `drift` reading the live (simulated) cluster: the moment is now."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronoscope import cli
from khronoscope.sim import SimClusterThread
from tests.cli.procs import server_keys


@pytest.fixture(scope="module")
def sim() -> Iterator[SimClusterThread]:
    """The incident scenario 30 s in, on a manual clock."""
    with SimClusterThread(scenario="default", autorun=False) as s:
        s.advance(30)
        yield s


def files(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_export_then_drift_against_the_live_cluster(sim, tmp_path, capsys):
    repo = tmp_path / "repo"
    kc = str(sim.kubeconfig_path)
    code = cli.main(["export", "--repo", str(repo), "--kubeconfig", kc])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("exported khronoscope-sim @ 20") and f"to {repo} branch" in out
    assert "reading context khronoscope-sim" in err and "listed" in err
    deployments = {
        f"{k.namespace}/deployments.apps/{k.name}.yaml"
        for k in server_keys(sim.sim, "deployments.apps")
    }
    assert deployments and deployments <= set(files(repo))

    code = cli.main(["drift", "--repo", str(repo), "--kubeconfig", kc, "--no-diff"])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert "0 changed, 0 only in the cluster, 0 only in Git" in out.splitlines()[-1]

    exported = next(f for f in files(repo) if "/configmaps/" in f)  # e.g. shop/configmaps/x.yaml
    ns, name = exported.split("/")[0], exported.rsplit("/", 1)[1].removesuffix(".yaml")
    sim.call(sim.sim.store.patch, "configmaps", ns, name, {"data": {"drifted": "yes"}})
    code = cli.main(["drift", "--repo", str(repo), "--kubeconfig", kc])
    out, _ = capsys.readouterr()
    assert code == 1, out
    assert f"configmaps/{ns}/{name}" in out and "data.drifted" in out


def _listed(err: str) -> int:
    line = next(ln for ln in err.splitlines() if " types, " in ln and "listed" in ln)
    return int(line.rsplit(" types, ", 1)[1].split()[0].replace(",", ""))


def test_namespace_limits_both_the_watch_and_the_export(sim, tmp_path, capsys):
    kc = str(sim.kubeconfig_path)
    assert cli.main(["export", "--repo", str(tmp_path / "all"), "--kubeconfig", kc]) == 0
    everything = _listed(capsys.readouterr().err)
    repo = tmp_path / "repo"
    code = cli.main(["export", "--repo", str(repo), "--kubeconfig", kc, "-n", "shop"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert _listed(err) < everything  # other namespaces were not even listed
    tops = {f.split("/")[0] for f in files(repo)}
    assert tops <= {"shop", "_cluster", ".khronoscope-export.yaml"} and "shop" in tops
