"""A range export that Git cannot complete: a locked index, a locked branch, a full disk.

Each is one line on stderr and a non-zero exit; the branch stays where it was, the work tree as
it was, and a failed write gives its disk space back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from khronoscope import cli
from khronoscope.commands import _history
from khronoscope.core.timefmt import NS, format_iso
from khronoscope.export import export_range
from khronoscope.export.target import ExportError
from tests.export.conftest import git
from tests.export.scenario import T0, MemorySource
from tests.export.test_same_bytes import random_history


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> MemorySource:
    src = random_history()
    monkeypatch.setattr(_history, "open_recording", lambda path, **_: src)
    return src


def export(capsys, repo: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["export", "--recording", "f", "--repo", str(repo), *args])
    out, err = capsys.readouterr()
    return code, out, err


def first_export(capsys, repo: Path) -> str:
    """A moment export at T0 (the branch the failing range must not lose); its commit id."""
    code, _, err = export(capsys, repo, "--at", format_iso(T0 + NS), "-q")
    assert code == 0, err
    return git(repo, "rev-parse", "main").strip()


def work_tree(repo: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }


def assert_one_line_failure(code: int, out: str, err: str, *needles: str) -> None:
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_a_locked_index_refuses_and_keeps_branch_and_files(history, tmp_path, capsys):
    repo = tmp_path / "r"
    tip = first_export(capsys, repo)
    # the user's own untracked file where the range adds one: refused, never removed
    (repo / "app" / "configmaps" / "zoo-1.yaml").write_text("mine")
    files = work_tree(repo)
    (repo / ".git" / "index.lock").write_text("")
    code, out, err = export(capsys, repo, "--from", format_iso(T0))
    assert_one_line_failure(code, out, err, "index.lock", "nothing exported")
    assert git(repo, "rev-parse", "main").strip() == tip
    assert work_tree(repo) == files
    (repo / ".git" / "index.lock").unlink()
    code, out, err = export(capsys, repo, "--from", format_iso(T0))
    assert_one_line_failure(code, out, err, "zoo-1.yaml", "nothing exported")
    assert work_tree(repo) == files
    (repo / "app" / "configmaps" / "zoo-1.yaml").unlink()
    assert git(repo, "status", "--porcelain") == ""
    # once the lock is gone the same export goes through
    code, out, err = export(capsys, repo, "--from", format_iso(T0))
    assert code == 0, err
    assert git(repo, "rev-list", "--count", "main").strip() == "121"


def test_a_locked_branch_says_it_is_locked(history, tmp_path, capsys):
    repo = tmp_path / "r"
    tip = first_export(capsys, repo)
    (repo / ".git" / "refs" / "heads" / "main.lock").write_text("")
    code, out, err = export(capsys, repo, "--from", format_iso(T0))
    assert_one_line_failure(code, out, err, "branch main is locked by another git process")
    assert "moved" not in err
    assert git(repo, "rev-parse", "main").strip() == tip


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB filesystem of its own (tmpfs), so that filling it harms nothing else."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root to mount")
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_full_disk_is_one_line_keeps_the_branch_and_frees_what_it_wrote(
    history, small_disk, capsys
):
    repo = small_disk / "r"
    tip = first_export(capsys, repo)
    files = work_tree(repo)
    # leave a few blocks: the range's pack (more than 100 commits) cannot fit
    with open(small_disk / "filler", "wb") as f:
        f.write(b"\0" * (free_bytes(small_disk) - 16 * 1024))
    before = free_bytes(small_disk)
    code, out, err = export(capsys, repo, "--from", format_iso(T0))
    assert_one_line_failure(code, out, err, "fast-import failed")
    assert "diskspace" in err or "No space" in err, err
    assert git(repo, "rev-parse", "main").strip() == tip
    assert work_tree(repo) == files
    # the unfinished pack and fast-import's crash report are gone: the space is given back
    leftovers = [
        p.name
        for p in (repo / ".git").rglob("*")
        if p.name.startswith(("tmp_pack_", "tmp_idx_", "fast_import_crash_"))
    ]
    assert leftovers == []
    assert free_bytes(small_disk) >= before
    assert git(repo, "for-each-ref", "refs/khronoscope") == ""


def test_writing_the_work_tree_shows_progress_and_errors_stay_one_line(history, tmp_path):
    """The files a range writes into a checked-out work tree are counted as they are written
    (on a slow disk this is the longest part of an export); the counts are not mistaken for
    an error."""
    repo = tmp_path / "r"
    last = history.tmap.last_t
    assert last is not None
    seen: list[tuple[int, int]] = []
    export_range(history, T0, last, repo, checkout_progress=lambda d, n: seen.append((d, n)))
    files = len(work_tree(repo))
    assert seen and seen[-1] == (files, files)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert git(repo, "status", "--porcelain") == ""
    # a refusal while counting still gives git's reason, not a progress line
    (repo / ".git" / "index.lock").write_text("")
    with pytest.raises(ExportError, match=r"index\.lock': File exists") as refused:
        other = random_history(seed=8)
        assert other.tmap.last_t is not None
        export_range(other, T0, other.tmap.last_t, repo, checkout_progress=lambda d, n: None)
    assert "Updating files" not in str(refused.value)


def test_wherever_the_disk_fills_the_branch_and_work_tree_are_kept(history, small_disk, capsys):
    """The disk fills at many points of an export into a checked-out branch (its objects, the
    branch ref, the work tree's files): each time one line, a non-zero exit, the branch and the
    work tree as they were, and the same export goes through once there is room again."""
    scratch = small_disk / "scratch"
    assert export(capsys, scratch, "--at", format_iso(T0 + NS), "-q")[0] == 0
    objects = sum(p.stat().st_blocks * 512 for p in (scratch / ".git" / "objects").rglob("*"))
    files = len(work_tree(scratch))
    shutil.rmtree(scratch)
    seen: set[str] = set()
    for room in range(objects - 64 * 1024, objects + 256 * 1024, 24 * 1024):
        repo = small_disk / f"r{room}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "README").write_text("mine")
        git(repo, "add", "README")
        git(repo, "commit", "-q", "-m", "start")
        with open(small_disk / "filler", "wb") as f:
            f.write(b"\0" * max(free_bytes(small_disk) - room, 0))
        code, out, err = export(capsys, repo, "--at", format_iso(T0 + NS))
        (small_disk / "filler").unlink()
        if code == 0:
            assert len(work_tree(repo)) == files + 1
        else:
            assert_one_line_failure(code, out, err, "is the disk full?")
            seen.add(err.split("failed", 1)[0])
            assert git(repo, "log", "--format=%s", "main").strip() == "start"
            assert work_tree(repo) == {"README": b"mine"}
            assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
            code, _, err = export(capsys, repo, "--at", format_iso(T0 + NS))
            assert code == 0, err
        shutil.rmtree(repo)
    # the disk filled while writing the objects and while writing the work tree
    assert any("fast-import" in s for s in seen), seen
    assert any("writing the files into the work tree" in s for s in seen), seen


@pytest.mark.parametrize("direction", ["adds", "deletes"])
def test_a_checkout_stopped_midway_is_undone(history, tmp_path, capsys, direction):
    """The files a failed fast-forward wrote, moved or removed are put back as the index (the
    old tree) has them; files it added are removed with the directories made for them."""
    from khronoscope.export import git as export_git

    last = history.tmap.last_t
    assert last is not None
    repo = tmp_path / "r"
    first_export(capsys, repo)
    export_range(history, T0, last, repo, branch="later")
    early = git(repo, "rev-parse", "main").strip()
    later = git(repo, "rev-parse", "later").strip()
    if direction == "deletes":
        git(repo, "checkout", "-q", "later")
    old, new = (early, later) if direction == "adds" else (later, early)
    before = work_tree(repo)
    # what read-tree had written when the disk filled: part of the new tree
    changes = git(repo, "diff-tree", "-r", "--no-renames", "--name-status", old, new).splitlines()
    assert {line[0] for line in changes} >= ({"A", "M"} if direction == "adds" else {"D", "M"})
    for line in changes:
        status, path = line.split("\t")
        if status == "D":
            (repo / path).unlink()
        else:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_bytes(git(repo, "show", f"{new}:{path}").encode())
    assert work_tree(repo) != before
    empty = export_git.empty_tree(export_git.open_repository(repo, create=False))
    assert export_git.undo_checkout(repo, old, new, empty) is None
    assert work_tree(repo) == before
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
