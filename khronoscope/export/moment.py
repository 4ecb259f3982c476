"""Export the state at one moment as one commit (none when the tree did not change).

Two halves: `read_moment` (or its steps) takes the state at t from the source, where the
TemporalMap lives; `write_moment` renders it and writes the commit, touching no source, so the
app runs it in a thread. `export_moment` and `export_moment_async` chain the two.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from khronoscope.core.source import HistorySource, TypeState
from khronoscope.core.timefmt import NS, format_iso, now_ns
from khronoscope.export import git, layout
from khronoscope.export.lock import ensure_free, exclusive
from khronoscope.export.plan import Counts, commit_message
from khronoscope.export.scope import ExportScope
from khronoscope.export.snapshot import (
    MomentState,
    Renderer,
    held_notes,
    moment_steps,
    read_moment,
    render,
)
from khronoscope.export.steps import Offload, Progress, run_steps_async
from khronoscope.export.target import prepare, publish


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
    state = read_moment(source, t, scope or ExportScope())
    return write_moment(state, repo_path, branch, identity)


async def export_moment_async(
    source: HistorySource,
    t: int,
    repo_path: Path | str,
    branch: str | None = None,
    scope: ExportScope | None = None,
    identity: git.Identity | None = None,
    progress: Progress | None = None,
    offload: Offload = asyncio.to_thread,
) -> ExportResult:
    """`export_moment` for an event loop: read there in steps, write through `offload`.

    `progress` is called from the writing thread.
    """
    ensure_free(repo_path)  # before reading anything: the write would be refused anyway
    state = await run_steps_async(moment_steps(source, t, scope or ExportScope()))
    return await offload(write_moment, state, repo_path, branch, identity, progress)


def write_moment(
    state: MomentState,
    repo_path: Path | str,
    branch: str | None = None,
    identity: git.Identity | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Commit `state` to `branch` of the repository at `repo_path` (author date = its t).

    Touches no source, so it may run in any thread; `progress(done, total)` counts the objects
    rendered. One export per repository at a time in this process.
    """
    with exclusive(repo_path):
        target = prepare(repo_path, branch, state.scope.prefix)
        renderer = Renderer(state.cluster, state.types, state.scope)
        renderer.base_filters = target.filters
        snap = render(state, renderer, progress)
        keep_dirs = {layout.type_dir(name) for name in snap.kept}
        target.tree.replace_all(snap.files, keep_dirs, snap.held, state.scope.owner())
        ops, counts = target.tree.take(renderer.metadata)
        files = sum(1 for _ in target.tree.object_paths())
        result = ExportResult(
            None, target.branch, target.repo.path, counts, files, snap.kept, target.repo.created
        )
        if not ops:
            return result
        now = now_ns() // NS
        writer = git.CommitWriter(target.repo, identity or git.Identity(), target.old, now)
        try:
            notes = kept_notes(snap.kept) + held_notes(snap.held)
            by_path = {renderer.path(k): (who, str(k)) for k, who in state.who.items()}
            changed_by = [by_path[op.path] for op in ops if op.path in by_path]
            message = commit_message(renderer.cluster, state.t, ops, counts, notes, changed_by)
            writer.commit(state.t // NS, message, ops)
            (commit,) = writer.finish()
        except BaseException:
            writer.abort()
            raise
        publish(target, commit, f"khronoscope export: snapshot @ {format_iso(state.t)}")
    result.commit = commit
    return result
