"""Export a range [t1, t2] as a series of commits, one per moment the exported tree changed.

The state at t1 is rendered once; after that only the objects named by `tmap.changes()` are
re-rendered, so a long range costs what changed in it, not its length times the cluster's size,
and of those only the manifests that changed are written as YAML again (a status update is no
new file). The commits stream to one `git fast-import`; the branch's work tree, if checked out,
is brought to the last commit once at the end (`target.publish`), not commit by commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.core.source import HistorySource, TypeState
from khronoscope.core.timefmt import NS, format_iso, now_ns, parse_time
from khronoscope.core.types import ObjectKey
from khronoscope.export import git, layout, yamlfmt
from khronoscope.export.changed_by import changed_at
from khronoscope.export.fingerprint import manifest_fingerprint
from khronoscope.export.lock import exclusive
from khronoscope.export.moment import kept_notes
from khronoscope.export.plan import Counts, ExportTree, commit_message
from khronoscope.export.scope import ExportScope
from khronoscope.export.snapshot import (
    MomentState,
    Renderer,
    Snapshot,
    held_notes,
    held_reason,
    kept_types,
    read_moment,
    render,
)
from khronoscope.export.steps import Progress
from khronoscope.export.target import ExportError, Target, check_time, prepare, publish


@dataclass(slots=True)
class RangeResult:
    """The commits a range export wrote, oldest first, as (moment, commit id)."""

    commits: list[tuple[int, str]]
    branch: str
    repo: Path
    counts: Counts
    changes: int
    resumed_from: int | None = None
    kept: dict[str, TypeState] = field(default_factory=dict)


def export_range(
    source: HistorySource,
    t1: int,
    t2: int,
    repo_path: Path | str,
    branch: str | None = None,
    scope: ExportScope | None = None,
    identity: git.Identity | None = None,
    progress: Progress | None = None,
    checkout_progress: Progress | None = None,
) -> RangeResult:
    """Commit the state at t1, then every later moment up to t2 at which the tree changed.

    `progress(done, total)` counts the changes replayed; `checkout_progress` the files written
    to the branch's work tree afterwards (when it is checked out).

    When the branch tip is an export of the same cluster at a moment inside the range and its
    tree equals the state then, the export resumes after it: re-running a range (a cron job
    exporting `--from -1d --to now`) appends only what is new instead of repeating history.
    """
    if t1 > t2:
        raise ExportError(f"the range is empty: {format_iso(t1)} is after {format_iso(t2)}")
    scope = scope or ExportScope()
    check_time(source, t1)
    check_time(source, t2)
    with exclusive(repo_path):
        return _export(
            source, t1, t2, repo_path, branch, scope, identity, progress, checkout_progress
        )


def _export(
    source: HistorySource,
    t1: int,
    t2: int,
    repo_path: Path | str,
    branch: str | None,
    scope: ExportScope,
    identity: git.Identity | None,
    progress: Progress | None,
    checkout_progress: Progress | None,
) -> RangeResult:
    target = prepare(repo_path, branch, scope.prefix)
    renderer = Renderer.of(source, scope)
    renderer.base_filters = target.filters
    kept = kept_types(source, t1, scope)

    start, resumed = t1, None
    tip_t = _tip_moment(target, renderer.cluster)
    if tip_t is not None and t1 <= tip_t <= t2:
        trial = target.fresh_tree()
        if not _stage_snapshot(trial, source, tip_t, scope, renderer, kept)[0][0]:
            target.tree, start, resumed = trial, tip_t, tip_t

    session = _Session(target, renderer, identity or git.Identity())
    try:
        if resumed is None:
            (ops, counts), state, snap = _stage_snapshot(
                target.tree, source, start, scope, renderer, kept
            )
            if ops:
                by_path = {renderer.path(k): (who, str(k)) for k, who in state.who.items()}
                changed_by = [by_path[op.path] for op in ops if op.path in by_path]
                session.commit(start, ops, counts, kept, changed_by, held_notes(snap.held))
        changes = _replay(source, target.tree, renderer, scope, kept, start, t2, session, progress)
        commits = session.finish()
    except BaseException:
        session.abort()
        raise
    if commits:
        last = commits[-1][1]
        reflog = f"khronoscope export: {len(commits)} snapshots up to {format_iso(t2)}"
        publish(target, last, reflog, checkout_progress)
    return RangeResult(
        commits, target.branch, target.repo.path, session.counts, changes, resumed, kept
    )


def _stage_snapshot(
    tree: ExportTree,
    source: HistorySource,
    t: int,
    scope: ExportScope,
    renderer: Renderer,
    kept: dict[str, TypeState],
) -> tuple[tuple[list, Counts], MomentState, Snapshot]:
    state = read_moment(source, t, scope)
    # the replay after this snapshot starts from its fingerprints (see _RenderedFiles)
    renderer.fingerprints = {}
    snap = render(state, renderer)
    kept_dirs = {layout.type_dir(name) for name in kept}
    tree.replace_all(snap.files, kept_dirs, snap.held, scope.owner())
    return tree.take(renderer.metadata), state, snap


def _replay(
    source: HistorySource,
    tree: ExportTree,
    renderer: Renderer,
    scope: ExportScope,
    kept: dict[str, TypeState],
    start: int,
    end: int,
    session: _Session,
    progress: Progress | None,
) -> int:
    tmap = source.tmap
    type_filter = next(iter(scope.types)) if scope.types and len(scope.types) == 1 else None
    namespaces = {*scope.namespaces, ""} if scope.namespaces is not None else None
    total = tmap.count_changes(start + 1, end, type_filter, namespaces) if end > start else 0
    done = 0
    current: int | None = None
    staged: list[tuple[ObjectKey, dict[str, Any] | None]] = []
    held: dict[str, str] = {}
    files = _RenderedFiles(tree, renderer)
    if progress:
        progress(0, total)
    for ref in tmap.changes(start + 1, end, type_filter, namespaces):
        if current is not None and ref.t != current:
            if staged:
                _flush(tree, renderer, session, source, current, kept, staged, held)
            staged, held = [], {}
            if progress:
                progress(done, total)
        current = ref.t
        done += 1
        if ref.key.type in kept or not scope.wants_key(ref.key):
            continue
        obj = tmap.get(ref.key, ref.t)
        why = held_reason(obj)
        if why:
            # a state not known leaves the object's file as it was
            held[renderer.path(ref.key)] = f"{ref.key}: {why}"
        else:
            files.stage(ref.key, obj)
            staged.append((ref.key, obj))
    if current is not None and staged:
        _flush(tree, renderer, session, source, current, kept, staged, held)
    if progress:
        progress(done, total)
    return done


class _RenderedFiles:
    """Stages objects' files, writing YAML only when the exported manifest changed."""

    def __init__(self, tree: ExportTree, renderer: Renderer) -> None:
        self.tree = tree
        self.renderer = renderer
        # key -> (fingerprint of the manifest last rendered, its file's blob id), starting
        # from the snapshot the tree was just staged from (when there was one)
        self._last: dict[ObjectKey, tuple[bytes, str]] = {}
        for key, mark in (renderer.fingerprints or {}).items():
            oid = tree.entries.get(renderer.path(key))
            if oid is not None:
                self._last[key] = (mark, oid)
        renderer.fingerprints = None

    def stage(self, key: ObjectKey, obj: dict[str, Any] | None) -> None:
        """Stage the file of `key` as `obj` is exported (removed when it is not)."""
        path = self.renderer.path(key)
        manifest = self.renderer.clean(key, obj)
        if manifest is None:
            self.tree.stage(path, None)
            return
        mark = manifest_fingerprint(manifest)
        last = self._last.get(key)
        if (
            mark is not None
            and last is not None
            and last[0] == mark
            and self.tree.holds(path, last[1])
        ):
            return  # the same file as the tree has
        oid = self.tree.stage_blob(path, yamlfmt.dump(manifest))
        if mark is not None:
            self._last[key] = (mark, oid)


def _flush(
    tree: ExportTree,
    renderer: Renderer,
    session: _Session,
    source: HistorySource,
    t: int,
    kept: dict[str, TypeState],
    staged: list[tuple[ObjectKey, dict[str, Any] | None]],
    held: dict[str, str],
) -> None:
    ops, counts = tree.take(renderer.metadata)
    if ops:
        # who changed them is looked up only for a moment that makes a commit
        by = changed_at(source, staged, t)
        session.commit(t, ops, counts, kept, by, held_notes(held))


class _Session:
    """Commits of one range export, written lazily (no process when nothing changes)."""

    def __init__(self, target: Target, renderer: Renderer, identity: git.Identity) -> None:
        self.target = target
        self.renderer = renderer
        self.identity = identity
        self.writer: git.CommitWriter | None = None
        self.times: list[int] = []
        self.counts = Counts()

    def commit(
        self,
        t: int,
        ops: list,
        counts: Counts,
        kept: dict[str, TypeState],
        changed_by: Iterable[tuple[str, str]] = (),
        notes: Iterable[str] = (),
    ) -> None:
        if self.writer is None:
            self.writer = git.CommitWriter(
                self.target.repo, self.identity, self.target.old, now_ns() // NS
            )
        lines = [*kept_notes(kept), *notes]
        message = commit_message(self.renderer.cluster, t, ops, counts, lines, changed_by)
        self.writer.commit(t // NS, message, ops)
        self.times.append(t)
        self.counts += counts

    def finish(self) -> list[tuple[int, str]]:
        if self.writer is None:
            return []
        ids = self.writer.finish()
        return list(zip(self.times, ids, strict=True))

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


def _tip_moment(target: Target, cluster: str) -> int | None:
    """The Khronoscope-Time of the branch tip if it is an export of `cluster`, else None."""
    if target.old is None:
        return None
    body = target.repo.out("log", "-1", "--format=%B", target.old)
    trailers = {}
    for line in body.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name.startswith("Khronoscope-"):
            trailers[name] = value.strip()
    if trailers.get("Khronoscope-Cluster") != cluster or "Khronoscope-Time" not in trailers:
        return None
    try:
        return parse_time(trailers["Khronoscope-Time"])
    except ValueError:
        return None
