"""The Git side of a drift comparison: the Kubernetes objects under a directory of one commit.

Reads only the repository (never the source), so the app runs it in a thread.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export import git, layout, secrets, yamlfmt
from khronoscope.export.scope import ExportScope
from khronoscope.export.target import ExportError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class CompareMode(enum.StrEnum):
    """How manifests are compared (see khronoscope.export.drift)."""

    AUTO = "auto"
    EXACT = "exact"
    DECLARED = "declared"


@dataclass(slots=True)
class GitObject:
    """One object defined in Git: its key, the file defining it, and its content."""

    key: ObjectKey
    path: str
    obj: dict[str, Any]


@dataclass(slots=True)
class GitSide:
    """What one commit's directory declares, and the comparison it asks for.

    `scope` is the cluster side's scope (the caller's, else an export's own filters, else None:
    what the manifests name); `mode` is never AUTO.
    """

    repo: Path
    rev: str
    commit: str
    path: str
    mode: CompareMode
    scope: ExportScope | None
    scope_note: str = ""
    objects: dict[ObjectKey, GitObject] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_git_side(
    repo: Path | str,
    rev: str,
    path: str,
    types: Mapping[str, ResourceType],
    scope: ExportScope | None = None,
    mode: CompareMode = CompareMode.AUTO,
    default_namespace: str = "default",
) -> GitSide:
    """The objects the manifests under `path` of `rev` in `repo` define (keys as `types` say)."""
    repository = git.open_repository(repo, create=False)
    prefix = layout.normalize_prefix(path)
    commit = git.resolve(repository, rev)
    if commit is None:
        raise ExportError(f"{rev!r} is not a commit in {repository.path}")
    entries = git.ls_tree(repository, commit, prefix)
    manifests = {
        p: oid for p, (_mode, oid) in entries.items() if p.lower().endswith(MANIFEST_SUFFIXES)
    }
    blobs = git.read_blobs(repository, list(manifests.values()))

    metadata_path = layout.join(prefix, layout.METADATA_FILE)
    export_meta = _read_metadata(blobs.get(manifests.get(metadata_path, ""), b""))
    mode = CompareMode(mode)
    if mode is CompareMode.AUTO:
        mode = CompareMode.EXACT if export_meta is not None else CompareMode.DECLARED
    side = GitSide(repository.path, rev, commit, prefix, mode, scope)
    if scope is None and export_meta is not None:
        side.scope = _scope_from_metadata(export_meta, prefix)
        side.scope_note = "the export's own filters"

    index = _kind_index(types)
    for file_path in sorted(manifests):
        if file_path == metadata_path:
            continue
        for obj in _documents(blobs.get(manifests[file_path], b""), file_path, side.problems):
            key = _git_key(obj, index, default_namespace)
            if key is None:
                continue
            if key in side.objects:
                other = side.objects[key].path
                side.problems.append(f"{file_path}: {key} is also defined in {other}")
                continue
            side.objects[key] = GitObject(key, file_path, obj)

    if not side.objects and side.scope is None:
        # nothing to infer the compared scope from: a wrong --path must not pass a CI gate
        where = f"{prefix}/ of " if prefix else ""
        raise ExportError(f"no Kubernetes manifests in {where}{rev} of {repository.path}")
    if side.scope is None:
        side.scope_note = "the namespaces and cluster-scoped types the manifests name"
    return side


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


def _documents(data: bytes, path: str, problems: list[str]) -> list[dict[str, Any]]:
    """The Kubernetes objects of one manifest file (several documents, `List`s expanded)."""
    try:
        docs = yamlfmt.load_all(data)
    except (yamlfmt.YAMLError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        problems.append(f"{path}: not readable as YAML ({reason})")
        return []
    out: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: a document that is not a mapping was skipped")
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out += [item for item in doc["items"] if isinstance(item, dict)]
            continue
        meta = doc.get("metadata")
        if not (doc.get("apiVersion") and doc.get("kind") and isinstance(meta, dict)):
            # kustomization.yaml, values files, Helm charts' metadata: not objects
            continue
        if not meta.get("name"):
            problems.append(f"{path}: a {doc['kind']} without metadata.name was skipped")
            continue
        out.append(doc)
    return out


def _kind_index(types: Mapping[str, ResourceType]) -> dict[tuple[str, str], ResourceType]:
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
