"""Bench scripts run their measured parts in fresh processes (no warm caches, no imports already
done, one RSS per run); this is how a driver starts one and reads the JSON line it ends with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """This environment with the repository first on PYTHONPATH (the checkout being measured,
    not an installed copy)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def child_json(script: str | os.PathLike[str], *args: str) -> dict[str, Any]:
    """Run `script` with `args` in a fresh Python; the JSON object on its last line of stdout
    (a failing child raises CalledProcessError; its stderr is left on the terminal)."""
    proc = subprocess.run(
        [sys.executable, str(Path(script).resolve()), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
