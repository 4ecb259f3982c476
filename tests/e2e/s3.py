"""A real S3 server (single-node Ceph RGW) on loopback, via ../shared/s3, one per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scripts_dir() -> Path:
    """Where build.sh and cluster.sh live (KHRONOSCOPE_S3_SCRIPTS, else ../shared/s3)."""
    env = os.environ.get("KHRONOSCOPE_S3_SCRIPTS")
    if env:
        return Path(env)
    for candidate in (REPO.parent / "shared" / "s3", REPO.parent.parent / "shared" / "s3"):
        if (candidate / "cluster.sh").exists():
            return candidate
    raise RuntimeError("cannot find shared/s3 (set KHRONOSCOPE_S3_SCRIPTS)")


def ensure_built() -> None:
    """Install Ceph from Debian once (build.sh is idempotent and returns at once after)."""
    if shutil.which("radosgw") and shutil.which("ceph-mon") and shutil.which("ceph-osd"):
        return
    env = {**os.environ, "S3_NO_VENV": "1"}
    subprocess.run(["bash", str(scripts_dir() / "build.sh")], check=True, env=env)


@dataclass
class RGW:
    """A running RGW: its state dir and the AWS variables a client needs."""

    state: Path
    env: dict[str, str]

    @property
    def endpoint(self) -> str:
        """http://127.0.0.1:PORT"""
        return self.env["AWS_ENDPOINT_URL"]

    def _cluster(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        env = {**os.environ, "S3_STATE": str(self.state)}
        return subprocess.run(
            ["bash", str(scripts_dir() / "cluster.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        """Start (or restart, keeping the data) and read s3.env."""
        proc = self._cluster("start")
        if proc.returncode != 0:
            raise RuntimeError(f"cluster.sh start failed: {proc.stderr[-2000:]}")
        self.env = _read_env(self.state / "s3.env")

    def stop(self) -> None:
        """Stop the daemons (memstore saves its data on a clean stop)."""
        self._cluster("stop", timeout=120)

    def client_env(self) -> dict[str, str]:
        """os.environ plus this server's AWS variables, and no way to reach instance metadata."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env)
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        return env

    def create_bucket(self, prefix: str = "t") -> str:
        """A new empty bucket (boto3: obstore cannot create buckets)."""
        import boto3
        from botocore.config import Config

        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.env.get("AWS_REGION", "us-east-1"),
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}),
        )
        client.create_bucket(Bucket=name)
        return name


def _read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.removeprefix("export ")] = v
    return out


def start() -> RGW:
    """A new RGW in its own short state dir (socket paths must stay under 107 characters)."""
    ensure_built()
    state = Path(tempfile.mkdtemp(prefix="khr-s3-", dir="/tmp"))
    rgw = RGW(state, {})
    try:
        rgw.start()
    except BaseException:
        rgw.stop()
        raise
    return rgw


def stop(rgw: RGW) -> None:
    """Stop and remove the state dir."""
    rgw.stop()
    shutil.rmtree(rgw.state, ignore_errors=True)
