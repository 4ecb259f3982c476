"""Bad input to `khronoscope live` is one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
import yaml

from khronoscope.sim.cluster import SimCluster


async def _khronoscope(*args: str, home: str) -> tuple[int, str, str]:
    env = {**os.environ, "HOME": home, "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": ""}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "khronoscope", "live", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("case", "expected", "status"),
    [
        ("no kubeconfig", "no kubeconfig found", 1),
        ("missing file", "kubeconfig not found: /nonexistent/config", 1),
        ("unknown context", "context 'prod' not found", 1),
        ("expired token", "rejected the credentials (401 Unauthorized)", 1),
        ("unknown type", "unknown resource type 'gizmos'", 2),
        ("included and excluded", "'pods' (pods) is both included and excluded", 2),
        ("unreachable", "cannot reach the API server", 1),
    ],
)
async def test_one_line_and_an_exit_status(sim: SimCluster, tmp_path, case, expected, status):
    good = str(sim.kubeconfig_path)
    doc = yaml.safe_load(sim.kubeconfig_path.read_text())
    args = {
        "no kubeconfig": [],
        "missing file": ["--kubeconfig", "/nonexistent/config"],
        "unknown context": ["--kubeconfig", good, "--context", "prod"],
        "expired token": ["--kubeconfig", str(tmp_path / "expired")],
        "unknown type": ["--kubeconfig", good, "--include", "pods,gizmos"],
        # different names of one type: only discovery can tell they contradict
        "included and excluded": ["--kubeconfig", good, "--include", "po,cm", "--exclude", "pods"],
        "unreachable": ["--kubeconfig", good],
    }[case]
    doc["users"][0]["user"]["token"] = "expired"
    (tmp_path / "expired").write_text(yaml.safe_dump(doc))
    if case == "unreachable":
        await sim.stop()
    code, out, err = await _khronoscope(*args, home=str(tmp_path))
    assert code == status
    assert err.count("\n") == 1 and expected in err, err
    assert "Traceback" not in err + out
