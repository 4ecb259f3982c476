"""Fixtures of the export tests: a seeded history and real Git repositories in tmp dirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.export.scenario import MemorySource, seeded


def git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> str:
    """Run the real git as a user would (with an identity for the tests' own commits)."""
    env = {k: v for k, v in os.environ.items() if k != "GIT_INDEX_FILE"}
    ident = ["-c", "user.name=Test User", "-c", "user.email=user@example.com"]
    proc = subprocess.run(
        ["git", *ident, "-c", "commit.gpgSign=false", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        check=False,
        env=env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {args} failed: {proc.stderr.decode()}")
    return proc.stdout.decode("utf-8", "replace")


@pytest.fixture(autouse=True)
def user_git_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A user's global git config with an identity and signing on: exports must ignore both."""
    home = tmp_path_factory.mktemp("home")
    config = home / "gitconfig"
    config.write_text(
        "[user]\n\tname = Config Identity\n\temail = config@example.com\n"
        "[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = /bin/false\n"
        "[init]\n\tdefaultBranch = trunk\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # a hostile environment: git must not be redirected to another repository or index
    monkeypatch.setenv("GIT_INDEX_FILE", str(home / "not-the-index"))
    return config


@pytest.fixture
def scenario() -> tuple[MemorySource, dict[str, int]]:
    """The seeded history (see scenario.seeded) and its named moments."""
    return seeded()


def all_blobs(repo: Path) -> list[bytes]:
    """The content of every blob reachable from any ref of the repository."""
    listing = git(repo, "rev-list", "--all", "--objects")
    oids = [line.split(" ")[0] for line in listing.splitlines() if line]
    out = []
    for oid in oids:
        if git(repo, "cat-file", "-t", oid).strip() == "blob":
            out.append(cat_blob(repo, oid))
    return out


def tree_files(repo: Path, rev: str = "HEAD") -> dict[str, bytes]:
    """path -> content of every file in `rev`."""
    out = {}
    for line in git(repo, "ls-tree", "-r", "-z", "--full-tree", rev).split("\0"):
        if not line:
            continue
        info, path = line.split("\t", 1)
        oid = info.split(" ")[2]
        out[path] = cat_blob(repo, oid)
    return out


def cat_blob(repo: Path, oid: str) -> bytes:
    """The bytes of one blob (`git cat-file blob`)."""
    return subprocess.run(
        ["git", "cat-file", "blob", oid], cwd=repo, capture_output=True, check=True
    ).stdout
