"""deploy/ on a real kube-apiserver, and the recorder run as it runs in that pod: only
KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's token, CA and namespace.

kube-apiserver here has no scheduler nor kubelet: the Deployment's pod stays Pending, so the
test runs `khronoscope record` itself with what the pod would have (the S3 Secret created as the
README says, the ServiceAccount's token), writing to a real RGW; what a laptop then opens from
the bucket equals a local recording of the same story.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.opening import open_any

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
NS = "khronoscope"
SA = "khronoscope-recorder"


def _service_account_files(kube, dest: Path) -> str:
    """The legacy token Secret of the ServiceAccount (1.20's token controller makes it), as the
    files a pod gets mounted; returns the token."""
    deadline = time.monotonic() + 60
    name = ""
    while time.monotonic() < deadline:
        name = kube.kubectl("-n", NS, "get", "sa", SA, "-o", "jsonpath={.secrets[0].name}")
        if name:
            break
        time.sleep(0.5)
    assert name, "the token controller made no token Secret for the ServiceAccount"
    secret = json.loads(kube.kubectl("-n", NS, "get", "secret", name, "-o", "json"))
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    dest.mkdir()
    (dest / "token").write_bytes(data["token"])
    (dest / "ca.crt").write_bytes(data["ca.crt"])
    (dest / "namespace").write_bytes(data["namespace"])
    return data["token"].decode()


def _as_sa(kube, token: str, ca: Path, *args: str) -> subprocess.CompletedProcess:
    """kubectl with only the ServiceAccount's token (no kubeconfig)."""
    cmd = ["kubectl", "--kubeconfig", os.devnull, "--server", kube.url]
    cmd += ["--certificate-authority", str(ca), "--token", token, *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _pod_env(kube, sa_dir: Path, home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "PYTHONPATH", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        KUBERNETES_SERVICE_HOST="127.0.0.1",
        KUBERNETES_SERVICE_PORT=str(kube.api_port),
        KHRONOSCOPE_SERVICEACCOUNT_DIR=str(sa_dir),
    )
    return env


def test_deploy_applies_and_the_recorder_runs_with_only_its_service_account(
    kube_apiserver, rgw, tmp_path, monkeypatch
):
    kube = kube_apiserver
    # the README's three commands: the namespace, the S3 Secret from an env file, deploy/
    url = f"s3://{rgw.create_bucket()}/clusters/test"
    env_file = tmp_path / "s3.env"
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
    env_file.write_text(
        f"KHRONOSCOPE_OUTPUT={url}\n" + "".join(f"{k}={rgw.env[k]}\n" for k in keys)
    )
    kube.kubectl("create", "namespace", NS)
    kube.kubectl("-n", NS, "create", "secret", "generic", "khronoscope-s3",
                 f"--from-env-file={env_file}")  # fmt: skip
    out = kube.kubectl("apply", "-k", str(ROOT / "deploy"))
    for what in ("namespace/khronoscope", "clusterrole.rbac.authorization.k8s.io/khronoscope",
                 "deployment.apps/khronoscope-recorder"):  # fmt: skip
        assert what in out
    dep = json.loads(kube.kubectl("-n", NS, "get", "deployment", SA, "-o", "json"))
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == SA
    sa_dir = tmp_path / "serviceaccount"
    token = _service_account_files(kube, sa_dir)
    ca = sa_dir / "ca.crt"

    # the ServiceAccount reads, and cannot write nor reach exec/proxy subresources
    assert _as_sa(kube, token, ca, "get", "pods", "-A").returncode == 0
    denied = _as_sa(kube, token, ca, "-n", "default", "create", "cm", "x", "--from-literal=a=b")
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    checks = {
        ("create", "pods", "exec"): "no",
        ("get", "pods", "exec"): "no",  # a websocket exec was authorized as get before 1.31
        ("get", "nodes", "proxy"): "no",  # the kubelet's exec, through the API server
        ("delete", "pods", ""): "no",
        ("update", "deployments", ""): "no",
        ("get", "configmaps", ""): "no",  # single GETs are not needed: list and watch are
        ("list", "secrets", ""): "yes",
        ("watch", "configmaps", ""): "yes",
        ("get", "pods", "log"): "yes",
    }
    for (verb, resource, sub), want in checks.items():
        args = ["auth", "can-i", verb, resource, "-A"] + ([f"--subresource={sub}"] if sub else [])
        can = _as_sa(kube, token, ca, *args)
        assert can.stdout.strip() == want, (verb, resource, sub, can.stdout, can.stderr)

    # the Secret as the pod gets it (envFrom, and -o expanded from KHRONOSCOPE_OUTPUT)
    secret = json.loads(kube.kubectl("-n", NS, "get", "secret", "khronoscope-s3", "-o", "json"))
    s3_env = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    pod_args = [a.replace("$(KHRONOSCOPE_OUTPUT)", s3_env["KHRONOSCOPE_OUTPUT"])
                for a in container["args"]]  # fmt: skip
    assert pod_args[pod_args.index("-o") + 1] == url

    # the recorder, as in the pod: no kubeconfig at all, writing to the bucket; beside it a
    # local recording of the same story, by the same ServiceAccount
    home = tmp_path / "home"
    home.mkdir()
    pod_env = {**_pod_env(kube, sa_dir, home), "PYTHONPATH": str(ROOT)}
    path = tmp_path / "cluster.khr"
    base = [sys.executable, "-m", "khronoscope", "record", "--status-every", "0.5"]
    base += ["--include", "configmaps,deployments,pods"]
    rec = subprocess.Popen(
        [*base, "-o", url, "--listen", "127.0.0.1:0", "--seal-every", "2"],
        cwd=ROOT,
        env={**pod_env, **s3_env, "XDG_STATE_HOME": str(home / "state")},
        stderr=subprocess.PIPE,
        text=True,
    )
    local = subprocess.Popen(
        [*base, "-o", str(path)], cwd=ROOT, env=pod_env, stderr=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    try:
        assert rec.stderr is not None
        port = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = rec.stderr.readline()
            assert line, f"the recorder ended: {lines[-5:]}"
            lines.append(line.strip())
            if m := re.search(r"serving /healthz.* port (\d+)", line):
                port = int(m.group(1))
            if port and "types watched" in line and "syncing" not in line:
                break
        assert port, lines
        assert "recording context (in-cluster)" in "\n".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            assert r.status == 200
        time.sleep(1)  # the local recorder lists too
        # a kubectl story while it records
        kube.kubectl("create", "namespace", "shop")
        kube.kubectl("-n", "shop", "create", "configmap", "prices", "--from-literal=apple=1")
        kube.kubectl("-n", "shop", "create", "deployment", "web", "--image=nginx:1.25")
        kube.kubectl("-n", "shop", "patch", "configmap", "prices", "-p", '{"data":{"apple":"2"}}')
        time.sleep(2)
        moment = time.time_ns()
        time.sleep(1)
        kube.kubectl("-n", "shop", "delete", "configmap", "prices")
        time.sleep(3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert re.search(r'khronoscope_changes_total\{type="configmaps"\} [1-9]', metrics)
        assert re.search(r"khronoscope_segments_uploaded_total [1-9]", metrics)
        rec.terminate()
        local.terminate()
        rec.communicate(timeout=60)
        local.wait(timeout=60)
    finally:
        for p in (rec, local):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert rec.returncode == 0, lines[-5:]
    assert local.returncode == 0
    assert "forbidden" not in "\n".join(lines[-3:]).lower()
    # from a laptop: the bucket opens as the local recording of the same story reads
    for k, v in s3_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "laptop-cache"))
    src = open_any(url)
    here = open_any(path)
    key = ObjectKey("configmaps", "shop", "prices")
    kinds = [ChangeKind(kind).name for _t, kind in src.tmap.history(key)]
    assert kinds == ["ADDED", "MODIFIED", "DELETED"], kinds
    assert kinds == [ChangeKind(kind).name for _t, kind in here.tmap.history(key)]
    assert src.tmap.get(key, moment)["data"] == {"apple": "2"}
    for type_ in ("configmaps", "deployments.apps"):
        assert src.tmap.state_at(moment, type_) == here.tmap.state_at(moment, type_)
    assert src.tmap.get(ObjectKey("deployments.apps", "shop", "web"), 2**62) is not None
    assert src.info.context == "(in-cluster)"
