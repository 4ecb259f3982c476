"""Export the state at one moment as one commit (none when the tree did not change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from khronoscope.core.source import HistorySource, TypeState
from khronoscope.core.timefmt import NS, format_iso, now_ns
from khronoscope.export import git, layout
from khronoscope.export.plan import Counts, commit_message
from khronoscope.export.scope import ExportScope
from khronoscope.export.snapshot import Renderer, snapshot
from khronoscope.export.target import check_time, prepare, publish


@dataclass(slots=True)
class ExportResult:
    """What an export did: the new commit (None when nothing changed) and what it touched."""

    commit: str | None
    branch: str
    repo: Path
    counts: Counts
    files: int
    kept: dict[str, TypeState] = field(default_factory=dict)
    created_repo: bool = False


def kept_notes(kept: dict[str, TypeState]) -> list[str]:
    """Commit message lines naming the types whose files were kept as they were."""
    if not kept:
        return []
    listed = ", ".join(f"{name} ({state.value})" for name, state in sorted(kept.items()))
    return [f"Kept as before (not readable at this moment): {listed}"]


def export_moment(
    source: HistorySource,
    t: int,
    repo_path: Path | str,
    branch: str | None = None,
    scope: ExportScope | None = None,
    identity: git.Identity | None = None,
) -> ExportResult:
    """Commit the state at `t` to `branch` of the repository at `repo_path` (author date = t)."""
    scope = scope or ExportScope()
    check_time(source, t)
    target = prepare(repo_path, branch, scope.prefix)
    renderer = Renderer(source, scope)
    snap = snapshot(source, t, scope, renderer)
    keep_dirs = {layout.type_dir(name) for name in snap.kept}
    target.tree.replace_all(snap.files, keep_dirs)
    ops, counts = target.tree.take(renderer.metadata)
    files = sum(1 for _ in target.tree.object_paths())
    result = ExportResult(
        None, target.branch, target.repo.path, counts, files, snap.kept, target.repo.created
    )
    if not ops:
        return result
    writer = git.CommitWriter(target.repo, identity or git.Identity(), target.old, now_ns() // NS)
    try:
        message = commit_message(renderer.cluster, t, ops, counts, kept_notes(snap.kept))
        writer.commit(t // NS, message, ops)
        (commit,) = writer.finish()
    except BaseException:
        writer.abort()
        raise
    publish(target, commit, f"khronoscope export: snapshot @ {format_iso(t)}")
    result.commit = commit
    return result
