"""What a hostile kubeconfig costs: a YAML alias bomb is refused in little memory and time, and
the check costs a real (large) kubeconfig little.

    python bench/kubeconfig.py [--contexts 1000]

Runs `khronoscope record` on a 1 KiB alias bomb in a child process (peak RSS from the kernel)
and times `check_kubeconfig_file` on a kubeconfig of N contexts with embedded CA data; ends with
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from khronoscope.cluster.kubeconfig import check_kubeconfig_file  # noqa: E402


def bomb(levels: int = 9) -> str:
    """A kubeconfig whose one cluster entry holds 10**levels strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + (
        "\napiVersion: v1\nkind: Config\n"
        f'clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:9"}}, x: *a{levels}}}]\n'
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )


def large(contexts: int) -> str:
    """A kubeconfig of `contexts` clusters, users and contexts, each cluster with its CA."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": f"c{i}",
                    "cluster": {
                        "server": f"https://10.0.0.{i % 250}:6443",
                        "certificate-authority-data": "QUJD" * 400,
                    },
                }
                for i in range(contexts)
            ],
            "users": [{"name": f"u{i}", "user": {"token": "t" * 40}} for i in range(contexts)],
            "contexts": [
                {"name": f"x{i}", "context": {"cluster": f"c{i}", "user": f"u{i}"}}
                for i in range(contexts)
            ],
            "current-context": "x0",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bomb.yaml"
        path.write_text(bomb())
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "khronoscope", "record", "-o", f"{d}/r.khr",
             "--kubeconfig", str(path)],
            capture_output=True, text=True, timeout=600, cwd=d,
            env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": d, "KUBECONFIG": ""},
        )  # fmt: skip
        bomb_s = time.monotonic() - started
        bomb_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"alias bomb ({path.stat().st_size} bytes): exit {proc.returncode} in {bomb_s:.2f} s, "
            f"peak RSS {bomb_rss:.0f} MiB: {proc.stderr.strip()}"
        )
        big = Path(d) / "big"
        big.write_text(large(args.contexts))
        started = time.monotonic()
        check_kubeconfig_file(str(big))
        check_s = time.monotonic() - started
        size_mib = big.stat().st_size / 2**20
        print(
            f"check of a {args.contexts}-context kubeconfig ({size_mib:.1f} MiB): {check_s:.3f} s"
        )
    print(
        json.dumps(
            {
                "bomb_exit": proc.returncode,
                "bomb_s": round(bomb_s, 2),
                "bomb_peak_rss_mib": round(bomb_rss),
                "check_contexts": args.contexts,
                "check_s": round(check_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
