"""When the branch an export would commit to was last dated.

A commit of a moment is dated at that moment: exporting a moment earlier than the branch's last
commit makes a history that goes back in time (`git log` order no longer follows the cluster's),
so the app warns first and offers a new branch. Read-only: nothing here writes to the repository.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from khronoscope.core.timefmt import NS, to_datetime

# reading a ref is instant; a repository on a hung network mount must not hang the dialog
_GIT_TIMEOUT_S = 10


def branch_tip_time(repo_path: Path | str, branch: str | None) -> int | None:
    """The author date (ns, whole seconds) of the commit `branch` points to (None: the branch
    HEAD is on); None when there is no repository there, no such branch, or git cannot tell."""
    path = Path(repo_path).expanduser()
    if not path.is_dir():
        return None
    ref = "HEAD" if not branch else "refs/heads/" + branch.removeprefix("refs/heads/")
    env = {
        **os.environ,
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        # only a repository at `path` itself, never one of its parent directories
        "GIT_CEILING_DIRECTORIES": str(path.resolve().parent),
    }
    cmd = ["git", "-c", "core.fsmonitor=false", "-C", str(path), "log", "-1", "--format=%at"]
    try:
        proc = subprocess.run(
            [*cmd, ref, "--"],
            capture_output=True,
            text=True,
            env=env,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.strip()
    if proc.returncode != 0 or not text.isdigit():
        return None
    return int(text) * NS


def goes_back_in_time(repo_path: Path | str, branch: str | None, t: int) -> int | None:
    """The branch's last commit date when it is later than the moment `t` (a commit of `t`
    would be dated before its parent); None when the export keeps the history in order."""
    tip = branch_tip_time(repo_path, branch)
    return tip if tip is not None and tip > (t // NS) * NS else None


def new_branch_name(repo_path: Path | str, t: int) -> str:
    """A branch name for the moment `t` that the repository does not have yet
    (`khronoscope-20260314-090235`, then `-2`, `-3`...)."""
    base = "khronoscope-" + to_datetime(t).strftime("%Y%m%d-%H%M%S")
    name, n = base, 1
    while branch_tip_time(repo_path, name) is not None:
        n += 1
        name = f"{base}-{n}"
    return name
