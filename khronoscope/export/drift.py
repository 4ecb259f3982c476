"""Drift: the cluster at a moment against a directory of manifests in a Git repository.

Both sides go through the same sanitizing and Secrets handling. Two ways to compare:
- `exact`: the Git side is a khronoscope export (found by its metadata file): files must equal.
- `declared`: hand-written manifests (a GitOps repository) name only some fields and the API
  server fills in defaults; only the fields present in Git are compared (list items matched by
  `name`), and resource quantities compare by value (`0.5` == `500m`, `1Gi` == `1024Mi`).
"""

from __future__ import annotations

import base64
import difflib
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from khronoscope.core.source import HistorySource
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export import git, layout, secrets, yamlfmt
from khronoscope.export.sanitize import sanitize
from khronoscope.export.scope import ExportScope, skip_reason
from khronoscope.export.target import ExportError
from khronoscope.temporal.diff import changed_paths

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class CompareMode(enum.StrEnum):
    """How manifests are compared (see the module docstring)."""

    AUTO = "auto"
    EXACT = "exact"
    DECLARED = "declared"


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


@dataclass(slots=True)
class _GitObject:
    key: ObjectKey
    path: str
    obj: dict[str, Any]


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
    repository = git.open_repository(repo, create=False)
    prefix = layout.normalize_prefix(path)
    commit = git.resolve(repository, rev)
    if commit is None:
        raise ExportError(f"{rev!r} is not a commit in {repository.path}")
    entries = git.ls_tree(repository, commit, prefix)
    manifests = {
        p: oid for p, (mode_, oid) in entries.items() if p.lower().endswith(MANIFEST_SUFFIXES)
    }
    blobs = git.read_blobs(repository, list(manifests.values()))
    types = source.resource_types()
    report = DriftReport(
        t, source.info.cluster, repository.path, rev, commit, prefix, CompareMode(mode)
    )

    metadata_path = layout.join(prefix, layout.METADATA_FILE)
    export_meta = _read_metadata(blobs.get(manifests.get(metadata_path, ""), b""))
    if report.mode is CompareMode.AUTO:
        report.mode = CompareMode.EXACT if export_meta is not None else CompareMode.DECLARED
    if scope is None and export_meta is not None:
        scope = _scope_from_metadata(export_meta, prefix)
        report.scope_note = "the export's own filters"

    index = _kind_index(types)
    git_objects: dict[ObjectKey, _GitObject] = {}
    for file_path in sorted(manifests):
        if file_path == metadata_path:
            continue
        for obj in _documents(blobs.get(manifests[file_path], b""), file_path, report):
            key = _git_key(obj, index, default_namespace)
            if key is None:
                continue
            if key in git_objects:
                other = git_objects[key].path
                report.problems.append(f"{file_path}: {key} is also defined in {other}")
                continue
            git_objects[key] = _GitObject(key, file_path, obj)

    if not git_objects and scope is None:
        # nothing to infer the compared scope from: a wrong --path must not pass a CI gate
        where = f"{prefix}/ of " if prefix else ""
        raise ExportError(f"no Kubernetes manifests in {where}{rev} of {repository.path}")
    wanted = _cluster_filter(scope, git_objects)
    if scope is None:
        report.scope_note = "the namespaces and cluster-scoped types the manifests name"
    secrets_mode = scope.secrets if scope else secrets.SecretsMode.REDACT
    tmap = source.tmap
    cluster: dict[ObjectKey, dict[str, Any]] = {}
    for key, obj in tmap.state_at(t).items():
        if wanted(key, obj):
            cluster[key] = obj

    for key in sorted(set(git_objects) | set(cluster), key=_sort_key):
        gobj = git_objects.get(key)
        live = cluster.get(key)
        if gobj is not None and scope is not None and not scope.wants_key(key):
            continue
        if live is None and gobj is not None:
            # an object the scope left out may still exist: Git names it, so look it up
            live = tmap.get(key, t)
        if gobj is None:
            report.only_in_cluster.append(DriftItem(key))
            continue
        if live is None:
            report.only_in_git.append(DriftItem(key, gobj.path))
            continue
        want = _clean(gobj.obj, key, types, secrets_mode, from_git=True)
        have = _clean(live, key, types, secrets_mode, from_git=False)
        if report.mode is CompareMode.DECLARED:
            have = _project(have, want)
            # compared with quantities by value, shown as written
            cmp_want, cmp_have = _normalize(want), _normalize(have)
        else:
            cmp_want, cmp_have = want, have
        if cmp_want == cmp_have:
            report.same += 1
            continue
        paths = changed_paths(cmp_want, cmp_have)
        label = f"cluster@{format_iso(t)}"
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


def _read_metadata(data: bytes) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        meta = yamlfmt.load(data)
    except yamlfmt.YAMLError:
        return None
    return meta if isinstance(meta, dict) and "format" in meta else None


def _scope_from_metadata(meta: dict[str, Any], prefix: str) -> ExportScope:
    filters = meta.get("filters") or {}
    namespaces = filters.get("namespaces")
    types = filters.get("types")
    try:
        mode = secrets.SecretsMode(meta.get("secrets", "redact"))
    except ValueError:
        mode = secrets.SecretsMode.REDACT
    return ExportScope(
        namespaces=frozenset(namespaces) if namespaces is not None else None,
        types=frozenset(types) if types is not None else None,
        include_skipped=bool(filters.get("includeSkipped", False)),
        secrets=mode,
        prefix=prefix,
    )


def _documents(data: bytes, path: str, report: DriftReport) -> list[dict[str, Any]]:
    """The Kubernetes objects of one manifest file (several documents, `List`s expanded)."""
    try:
        docs = yamlfmt.load_all(data)
    except (yamlfmt.YAMLError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        report.problems.append(f"{path}: not readable as YAML ({reason})")
        return []
    out: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            report.problems.append(f"{path}: a document that is not a mapping was skipped")
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out += [item for item in doc["items"] if isinstance(item, dict)]
            continue
        meta = doc.get("metadata")
        if not (doc.get("apiVersion") and doc.get("kind") and isinstance(meta, dict)):
            # kustomization.yaml, values files, Helm charts' metadata: not objects
            continue
        if not meta.get("name"):
            report.problems.append(f"{path}: a {doc['kind']} without metadata.name was skipped")
            continue
        out.append(doc)
    return out


def _kind_index(types: dict[str, ResourceType]) -> dict[tuple[str, str], ResourceType]:
    return {(rt.group, rt.kind): rt for rt in types.values()}


def _git_key(
    obj: dict[str, Any], index: dict[tuple[str, str], ResourceType], default_namespace: str
) -> ObjectKey | None:
    api = str(obj["apiVersion"])
    group = api.rpartition("/")[0]
    kind = str(obj["kind"])
    meta = obj["metadata"]
    rt = index.get((group, kind))
    if rt is None:
        # a type the cluster does not serve: keep it, it can only be "only in Git"
        plural = kind.lower() + "s"
        name = f"{plural}.{group}" if group else plural
        return ObjectKey(name, str(meta.get("namespace") or ""), str(meta["name"]))
    namespace = str(meta.get("namespace") or default_namespace) if rt.namespaced else ""
    return ObjectKey(rt.name, namespace, str(meta["name"]))


def _cluster_filter(
    scope: ExportScope | None, git_objects: dict[ObjectKey, _GitObject]
) -> Callable[[ObjectKey, dict[str, Any]], bool]:
    if scope is not None:
        return scope.wants
    namespaces = {k.namespace for k in git_objects if k.namespace}
    cluster_types = {k.type for k in git_objects if not k.namespace}

    def wanted(key: ObjectKey, obj: dict[str, Any]) -> bool:
        if key.namespace:
            covered = key.namespace in namespaces
        else:
            covered = key.type in cluster_types or (
                key.type == "namespaces" and key.name in namespaces
            )
        return covered and skip_reason(key, obj) is None

    return wanted


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


def _project(have: Any, want: Any) -> Any:
    """`have` reduced to the fields `want` names (list items matched by name, else position)."""
    if isinstance(have, dict) and isinstance(want, dict):
        return {k: _project(have[k], want[k]) for k in want if k in have}
    if isinstance(have, list) and isinstance(want, list):
        hn, wn = _named(have), _named(want)
        if hn is not None and wn is not None:
            return [_project(item, wn[name]) if name in wn else item for name, item in hn.items()]
        if len(have) == len(want):
            return [_project(h, w) for h, w in zip(have, want, strict=True)]
    return have


def _named(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in items):
        return None
    named = {x["name"]: x for x in items}
    return named if len(named) == len(items) else None


_QUANTITY = re.compile(
    r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)
_FACTORS = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
}
_QUANTITY_PARENTS = frozenset({"requests", "limits", "capacity", "hard", "overhead"})


def _normalize(value: Any) -> Any:
    """Resource quantities as canonical numbers, so `0.5` and `500m` compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _QUANTITY_PARENTS and isinstance(v, dict):
                out[k] = {q: _quantity(x) for q, x in v.items()}
            else:
                out[k] = _normalize(v)
        return out
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def _quantity(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    m = _QUANTITY.match(str(value).strip())
    if not m:
        return value
    try:
        amount = Decimal(m.group(1)) * _FACTORS[m.group(2)]
    except InvalidOperation:
        return value
    return f"{amount.normalize():f}"


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
