"""Drift: the cluster at a moment against a directory of manifests in Git.

Both sides go through the same sanitizing and Secrets handling. Two ways to compare:
- `exact`: the Git side is a khronoscope export (found by its metadata file): files must equal.
- `declared`: hand-written manifests (a GitOps repository) name only some fields and the API
  server fills in defaults; only the fields present in Git are compared (list items matched by
  `name`), and resource quantities compare by value (`0.5` == `500m`, `1Gi` == `1024Mi`).

Three steps: read the Git side (khronoscope.export.manifests), read the cluster side it asks
about (khronoscope.export.cluster_side, the only step touching the source), then compare. The
app runs the first and last in a thread (`compute_drift_async`).
"""

from __future__ import annotations

import asyncio
import base64
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export import secrets, yamlfmt
from khronoscope.export.cluster_side import ClusterSide, cluster_steps
from khronoscope.export.declared import normalize, project
from khronoscope.export.manifests import CompareMode, GitSide, read_git_side
from khronoscope.export.sanitize import sanitize
from khronoscope.export.scope import ExportScope
from khronoscope.export.steps import Offload, run_steps, run_steps_async
from khronoscope.temporal.diff import changed_paths

__all__ = [
    "CompareMode",
    "DriftItem",
    "DriftReport",
    "compare",
    "compute_drift",
    "compute_drift_async",
    "format_report",
]


@dataclass(slots=True)
class DriftItem:
    """One object that differs: where it is in Git, which fields differ, and the YAML diff."""

    key: ObjectKey
    git_path: str | None = None
    paths: list[str] = field(default_factory=list)
    diff: str = ""


@dataclass(slots=True)
class DriftReport:
    """Objects only in the cluster, only in Git, and changed, at moment `t`."""

    t: int
    cluster: str
    repo: Path
    rev: str
    commit: str
    path: str
    mode: CompareMode
    only_in_cluster: list[DriftItem] = field(default_factory=list)
    only_in_git: list[DriftItem] = field(default_factory=list)
    changed: list[DriftItem] = field(default_factory=list)
    same: int = 0
    problems: list[str] = field(default_factory=list)
    scope_note: str = ""

    @property
    def has_drift(self) -> bool:
        """True if anything differs."""
        return bool(self.only_in_cluster or self.only_in_git or self.changed)

    @property
    def exit_status(self) -> int:
        """0 when the two sides agree, 1 when they drift (like `diff`)."""
        return 1 if self.has_drift else 0


def compute_drift(
    source: HistorySource,
    t: int,
    repo: Path | str,
    rev: str = "HEAD",
    path: str = "",
    scope: ExportScope | None = None,
    mode: CompareMode = CompareMode.AUTO,
    default_namespace: str = "default",
) -> DriftReport:
    """Compare the state at `t` with the manifests under `path` of `rev` in `repo`.

    Without an explicit scope the cluster side is narrowed to what the Git side covers: an
    export's own filters when the directory is a khronoscope export, else the namespaces (and
    cluster-scoped types) its manifests name.
    """
    types = dict(source.resource_types())
    side = read_git_side(repo, rev, path, types, scope, mode, default_namespace)
    return compare(side, run_steps(cluster_steps(source, t, side, types)))


async def compute_drift_async(
    source: HistorySource,
    t: int,
    repo: Path | str,
    rev: str = "HEAD",
    path: str = "",
    scope: ExportScope | None = None,
    mode: CompareMode = CompareMode.AUTO,
    default_namespace: str = "default",
    offload: Offload = asyncio.to_thread,
) -> DriftReport:
    """`compute_drift` for an event loop: the source is read there in steps, Git and the
    comparison through `offload`."""
    types = dict(source.resource_types())
    side = await offload(read_git_side, repo, rev, path, types, scope, mode, default_namespace)
    cluster = await run_steps_async(cluster_steps(source, t, side, types))
    return await offload(compare, side, cluster)


def compare(side: GitSide, cluster: ClusterSide) -> DriftReport:
    """The drift between what was read of both sides (pure: no source, no repository)."""
    t = cluster.t
    report = DriftReport(t, cluster.cluster, side.repo, side.rev, side.commit, side.path, side.mode)
    report.problems = list(side.problems)
    report.scope_note = side.scope_note
    scope = side.scope
    secrets_mode = scope.secrets if scope else secrets.SecretsMode.REDACT
    label = f"cluster@{format_iso(t)}"
    for key in sorted(set(side.objects) | set(cluster.objects), key=_sort_key):
        gobj = side.objects.get(key)
        live = cluster.objects.get(key)
        if gobj is not None and scope is not None and not scope.wants_key(key):
            continue
        if live is None and gobj is not None:
            live = cluster.named.get(key)
        if gobj is None:
            report.only_in_cluster.append(DriftItem(key))
            continue
        if live is None:
            report.only_in_git.append(DriftItem(key, gobj.path))
            continue
        want = _clean(gobj.obj, key, cluster.types, secrets_mode, from_git=True)
        have = _clean(live, key, cluster.types, secrets_mode, from_git=False)
        if report.mode is CompareMode.DECLARED:
            have = project(have, want)
            # compared with quantities by value, shown as written
            cmp_want, cmp_have = normalize(want), normalize(have)
        else:
            cmp_want, cmp_have = want, have
        if cmp_want == cmp_have:
            report.same += 1
            continue
        paths = changed_paths(cmp_want, cmp_have)
        diff = "".join(
            difflib.unified_diff(
                yamlfmt.dump(want).decode().splitlines(keepends=True),
                yamlfmt.dump(have).decode().splitlines(keepends=True),
                f"git:{gobj.path}",
                label,
            )
        )
        report.changed.append(DriftItem(key, gobj.path, paths, diff))
    return report


def _sort_key(key: ObjectKey) -> tuple[str, str, str]:
    return (key.namespace, key.type, key.name)


def _clean(
    obj: dict[str, Any],
    key: ObjectKey,
    types: dict[str, ResourceType],
    mode: secrets.SecretsMode,
    from_git: bool,
) -> dict[str, Any]:
    out = sanitize(obj, key.type)
    rt = types.get(key.type)
    if rt is not None:
        out.setdefault("apiVersion", rt.api_version)
        out.setdefault("kind", rt.kind)
        meta = out.get("metadata")
        # a namespaced manifest without a namespace is deployed to the default namespace
        if rt.namespaced and isinstance(meta, dict) and key.namespace:
            meta.setdefault("namespace", key.namespace)
    if key.type == secrets.SECRET_TYPE:
        if from_git and isinstance(out.get("stringData"), dict):
            # the API server merges stringData into data: compare what the cluster would hold
            data = dict(out.get("data") or {})
            for k, v in out.pop("stringData").items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            out["data"] = data
        prepared = secrets.prepare(out, mode)
        out = prepared if prepared is not None else {}
    return out


def format_report(report: DriftReport, with_diff: bool = True) -> str:
    """The report as text for a terminal or a CI log."""
    where = f"{report.repo}@{report.commit[:12]}"
    if report.path:
        where += f":{report.path}"
    lines = [
        f"drift: cluster {report.cluster} @ {format_iso(report.t)} vs {where} "
        f"({report.mode.value} comparison"
        + (f", cluster side limited to {report.scope_note}" if report.scope_note else "")
        + ")"
    ]
    if report.only_in_cluster:
        lines.append(f"only in the cluster ({len(report.only_in_cluster)}):")
        lines += [f"  {item.key}" for item in report.only_in_cluster]
    if report.only_in_git:
        lines.append(f"only in Git ({len(report.only_in_git)}):")
        lines += [f"  {item.key}  ({item.git_path})" for item in report.only_in_git]
    if report.changed:
        lines.append(f"changed ({len(report.changed)}):")
        for item in report.changed:
            lines.append(f"  {item.key}  ({item.git_path})")
            lines += [f"    {p}" for p in item.paths]
            if with_diff and item.diff:
                lines += ["      " + ln for ln in item.diff.rstrip("\n").splitlines()]
    for problem in report.problems:
        lines.append(f"warning: {problem}")
    lines.append(
        f"{len(report.changed)} changed, {len(report.only_in_cluster)} only in the cluster, "
        f"{len(report.only_in_git)} only in Git, {report.same} the same"
    )
    return "\n".join(lines) + "\n"
