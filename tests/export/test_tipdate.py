"""The date of a branch's last commit, read before an export (the app warns when the moment
exported is earlier): only the repository asked for, never a parent directory's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from khronoscope.core.timefmt import NS
from khronoscope.export.tipdate import branch_tip_time, goes_back_in_time, new_branch_name


def _commit(repo: Path, when: int) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
    }
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, env=env)  # noqa: E731
    if not (repo / ".git").exists():
        run("init", "-q", "-b", "main")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")


def test_tip_time_of_a_branch_and_of_head(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    _commit(repo, 1_773_478_940)
    assert branch_tip_time(repo, None) == 1_773_478_940 * NS
    assert branch_tip_time(repo, "main") == 1_773_478_940 * NS
    assert branch_tip_time(repo, "nope") is None
    assert branch_tip_time(tmp_path / "missing", None) is None
    assert goes_back_in_time(repo, "main", 1_773_478_900 * NS) == 1_773_478_940 * NS
    assert goes_back_in_time(repo, "main", 1_773_478_940 * NS + 5) is None  # same second
    assert new_branch_name(repo, 1_773_478_900 * NS) == "khronoscope-20260314-090140"


def test_a_directory_inside_a_repository_is_not_that_repository(tmp_path):
    _commit(tmp_path, 1_773_478_940)
    inner = tmp_path / "exports"
    inner.mkdir()
    assert branch_tip_time(inner, None) is None


def test_a_taken_name_gets_a_number(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    _commit(repo, 1_773_478_940)
    subprocess.run(["git", "-C", str(repo), "branch", "khronoscope-20260314-090220"], check=True)
    assert new_branch_name(repo, 1_773_478_940 * NS) == "khronoscope-20260314-090220-2"
