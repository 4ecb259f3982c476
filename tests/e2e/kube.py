"""A real kube-apiserver (+ etcd, + kube-controller-manager) on loopback, via ../shared/kube."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
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

    def stop_apiserver(self) -> list[str]:
        """Stop kube-apiserver alone (SIGTERM, as a rolling restart or an upgrade does; etcd
        and the controller manager go on). Returns its command line, to start it again."""
        pid_file = self.state / "kube-apiserver.pid"
        pid = int(pid_file.read_text().strip())
        argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        return argv

    def start_apiserver(self, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start kube-apiserver again with the same command line (same port, certificates,
        tokens and etcd); `cluster.sh stop` stops it by its recorded PID."""
        with open(self.state / "kube-apiserver.log", "ab") as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        (self.state / "kube-apiserver.pid").write_text(f"{proc.pid}\n")
        # reaped as soon as it ends: `cluster.sh stop` waits for the PID to vanish
        threading.Thread(target=proc.wait, daemon=True).start()
        return proc

    def ready(self) -> bool:
        """True when kube-apiserver answers `/readyz` with ok."""
        ctx = ssl.create_default_context(cafile=str(self.state / "pki" / "ca.crt"))
        req = urllib.request.Request(
            f"{self.url}/readyz", headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:
                return resp.read().strip() == b"ok"
        except (OSError, urllib.error.URLError):
            return False

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Wait until `/readyz` is ok; returns that moment (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"kube-apiserver not ready after {timeout:g} s")
            time.sleep(0.05)
        return time.monotonic()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (our own child, not reaped yet) is gone for every purpose here
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


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
