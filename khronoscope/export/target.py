"""The branch an export writes to: checks before anything is written, and publishing after."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khronoscope.core.source import HistorySource, recorded
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.errors import KhronoscopeError
from khronoscope.export import git, yamlfmt
from khronoscope.export.plan import ExportTree, blob_hasher
from khronoscope.export.steps import Progress


class ExportError(KhronoscopeError):
    """An export that cannot be done as asked (one line for the user)."""


@dataclass(slots=True)
class Target:
    """An opened repository, the branch ref, its tip before the export and the export's tree."""

    repo: git.Repository
    ref: str
    old: str | None
    worktrees: list[Path]
    tree: ExportTree
    base: dict[str, tuple[str, str]]
    filters: dict[str, Any] | None = None
    """The filters of the export the branch holds (None: none yet, or unreadable)."""

    def fresh_tree(self) -> ExportTree:
        """A new ExportTree over the branch tip (for a trial that may be thrown away)."""
        return ExportTree(self.tree.prefix, self.tree.blob_id, self.base)

    @property
    def branch(self) -> str:
        """The branch name without `refs/heads/`."""
        return self.ref.removeprefix("refs/heads/")


def prepare(repo_path: Path | str, branch: str | None, prefix: str) -> Target:
    """Open (or create) the repository and check the branch can take an export.

    Every refusal happens here, before any object is written.
    """
    repo = git.open_repository(repo_path, initial_branch=branch or "main")
    ref = git.branch_ref(repo, branch)
    old = git.resolve(repo, ref)
    worktrees = git.worktrees_on(repo, ref)
    # a repository initialised just now in an empty directory tracks no file to have changed
    if not repo.created:
        for worktree in worktrees:
            git.ensure_clean(worktree, ref)
    base = git.ls_tree(repo, old, prefix) if old else {}
    tree = ExportTree(prefix, blob_hasher(repo.object_format), base)
    if not tree.is_export():
        where = f"{prefix}/ of " if prefix else ""
        raise ExportError(
            f"{where}branch {ref.removeprefix('refs/heads/')} holds files that are not a "
            "khronoscope export: choose another --branch (or --prefix)"
        )
    return Target(repo, ref, old, worktrees, tree, base, _filters(repo, base, tree))


def _filters(
    repo: git.Repository, base: dict[str, tuple[str, str]], tree: ExportTree
) -> dict[str, Any] | None:
    """The `filters` of the metadata file on the branch (what the tree holds so far)."""
    entry = base.get(tree.metadata_path)
    if entry is None:
        return None
    data = git.read_blobs(repo, [entry[1]]).get(entry[1], b"")
    try:
        meta = yamlfmt.load(data)
    except (yamlfmt.YAMLError, UnicodeDecodeError):
        return {}  # unreadable: as if it held everything, so nothing is narrowed
    filters = meta.get("filters") if isinstance(meta, dict) else None
    return filters if isinstance(filters, dict) else {}


def publish(target: Target, new: str, reflog: str, progress: Progress | None = None) -> None:
    """Move the branch to `new` (compare-and-swap) and fast-forward its clean work trees
    (`progress(done, total)` counts the files written there).

    If a work tree cannot be fast-forwarded (edited since the check), the branch is moved back
    and the export fails: a branch ahead of its checked-out files would look like reverted work.
    """
    repo = target.repo
    git.update_ref(repo, target.ref, new, target.old, reflog)
    if not target.worktrees:
        return
    empty = git.empty_tree(repo)
    for worktree in target.worktrees:
        # the index of a repository initialised just now is empty: nothing to refresh
        refresh = not repo.created
        refused = git.fast_forward(worktree, target.old, new, empty, progress, refresh=refresh)
        if refused is None:
            continue
        # the work tree first: removing what was written gives a full disk room for the ref
        undo: str | None = None
        if git.failed_while_writing(refused):
            undo = git.undo_checkout(worktree, target.old, new, empty)
        try:
            if target.old:
                git.update_ref(repo, target.ref, target.old, new, "khronoscope export: undo")
            else:
                repo.git("update-ref", "-d", target.ref, new)
        except git.GitError as err:
            raise ExportError(
                f"the work tree {worktree} cannot take the export ({refused}) and branch "
                f"{target.branch} could not be moved back to {target.old or 'nothing'} "
                f"({err}): it holds the export's commit {new}"
            ) from None
        if git.failed_while_writing(refused):
            after = (
                "its files are back as they were"
                if undo is None
                else f"putting its files back failed too ({undo}): see `git status` there"
            )
            raise ExportError(
                f"nothing exported: writing the files into the work tree {worktree} "
                f"failed ({refused}; is the disk full?): branch {target.branch} is "
                f"unchanged and {after}"
            )
        raise ExportError(
            f"nothing exported: the work tree {worktree} (branch {target.branch} checked "
            f"out) cannot take the export ({refused}); commit, stash or move the file "
            "git names, or export to another --branch"
        )


def recorded_range(source: HistorySource) -> tuple[int, int]:
    """The first and last moment the source can answer for (live: up to now)."""
    tmap = source.tmap
    rec = recorded(source)
    start = (rec.start_t if rec is not None else None) or tmap.first_t
    end = (rec.end_t if rec is not None else None) or tmap.last_t
    if source.is_live:
        end = now_ns()
    if start is None or end is None:
        raise ExportError("the recording holds no changes yet: nothing to export")
    return start, max(start, end)


def check_time(source: HistorySource, t: int) -> None:
    """Refuse a moment outside what was recorded."""
    start, end = recorded_range(source)
    if not start <= t <= end:
        raise ExportError(
            f"{format_iso(t)} is outside the recorded range "
            f"{format_iso(start)} .. {format_iso(end)}"
        )
