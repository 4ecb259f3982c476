"""A real kube-apiserver (+ etcd, + kube-controller-manager) on loopback, via ../shared/kube."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scripts_dir() -> Path:
    """Where build.sh and cluster.sh live (KHRONOSCOPE_KUBE_SCRIPTS, else ../shared/kube)."""
    env = os.environ.get("KHRONOSCOPE_KUBE_SCRIPTS")
    if env:
        return Path(env)
    for candidate in (REPO.parent / "shared" / "kube", REPO.parent.parent / "shared" / "kube"):
        if (candidate / "cluster.sh").exists():
            return candidate
    raise RuntimeError("cannot find shared/kube (set KHRONOSCOPE_KUBE_SCRIPTS)")


def kube_home() -> Path:
    """The build cache (binaries in bin/)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("KUBE_HOME", f"{base}/khronoscope-kube"))


def ensure_built() -> None:
    """Build kube-apiserver and kube-controller-manager once (~8 min; cached)."""
    bin_dir = kube_home() / "bin"
    if (bin_dir / "kube-apiserver").exists() and (bin_dir / "kube-controller-manager").exists():
        return
    subprocess.run(["bash", str(scripts_dir() / "build.sh")], check=True)


@dataclass
class KubeAPIServer:
    """A running control plane: its kubeconfigs, ports and state directory."""

    state: Path
    kubeconfig: Path
    kubeconfig_user: Path
    api_port: int
    etcd_port: int
    token: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        """The API server's base URL."""
        return f"https://127.0.0.1:{self.api_port}"

    def run_kubectl(self, *args: str, user: bool = False, **kw) -> subprocess.CompletedProcess:
        """Run kubectl against this server (admin, or the unprivileged user)."""
        cfg = self.kubeconfig_user if user else self.kubeconfig
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(cfg), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            **kw,
        )

    def kubectl(self, *args: str, user: bool = False, **kw) -> str:
        """Run kubectl and return stdout; a failure raises with kubectl's message."""
        out = self.run_kubectl(*args, user=user, **kw)
        if out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def etcd_compact(self) -> int:
        """Compact etcd at its current revision (old resourceVersions then answer 410)."""
        endpoint = f"http://127.0.0.1:{self.etcd_port}"
        status = subprocess.run(
            ["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w", "json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "ETCDCTL_API": "3"},
        ).stdout
        import json

        rev = json.loads(status)[0]["Status"]["header"]["revision"]
        subprocess.run(
            ["etcdctl", "--endpoints", endpoint, "compact", str(rev)],
            capture_output=True,
            check=True,
            env={**os.environ, "ETCDCTL_API": "3"},
        )
        return int(rev)


def start(flags: str = "", controller_manager: bool = True, audit: bool = False) -> KubeAPIServer:
    """Start a fresh control plane in its own temporary state directory (`audit`: with an
    audit log, `state/audit.log`, under a managed-cluster-like policy)."""
    ensure_built()
    state = Path(tempfile.mkdtemp(prefix="khronoscope-kapi-"))
    env = {**os.environ, "KAPI_STATE": str(state)}
    if audit:
        env["KAPI_AUDIT"] = "1"
    if flags:
        env["KAPI_APISERVER_FLAGS"] = flags
    args = ["bash", str(scripts_dir() / "cluster.sh"), "start"]
    if not controller_manager:
        args.append("--no-kcm")
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        stop(state)
        raise RuntimeError(f"cluster.sh start failed: {proc.stderr[-2000:]}")
    ports = dict(
        line.split("=", 1) for line in (state / "ports.env").read_text().splitlines() if "=" in line
    )
    return KubeAPIServer(
        state=state,
        kubeconfig=state / "kubeconfig",
        kubeconfig_user=state / "kubeconfig-user",
        api_port=int(ports["API_PORT"]),
        etcd_port=int(ports["ETCD_PORT"]),
        token=ports["TOKEN"],
        env=env,
    )


def stop(state: Path) -> None:
    """Stop what `start` started (cluster.sh stops by recorded PID only)."""
    env = {**os.environ, "KAPI_STATE": str(state)}
    subprocess.run(
        ["bash", str(scripts_dir() / "cluster.sh"), "stop"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
