"""The state at t as files: {path: bytes}, a pure function of (state at t, options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.source import HistorySource, TypeState, TypeStatus
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export import layout, secrets, yamlfmt
from khronoscope.export.plan import FORMAT_VERSION
from khronoscope.export.sanitize import sanitize
from khronoscope.export.scope import ExportScope

# a type in one of these states at t was not readable: its files stay as the last export had them
KEPT_STATES = frozenset({TypeState.FORBIDDEN, TypeState.SYNCING})


class Renderer:
    """Turns one object into its file: scope check, sanitizing, Secrets, YAML."""

    def __init__(self, source: HistorySource, scope: ExportScope) -> None:
        self.scope = scope
        self.cluster = source.info.cluster
        self._types: dict[str, ResourceType] = dict(source.resource_types())

    def path(self, key: ObjectKey) -> str:
        """The repository path of `key` (under the scope's prefix)."""
        return layout.path_for(key, self.scope.prefix)

    def clean(self, key: ObjectKey, obj: dict[str, Any] | None) -> dict[str, Any] | None:
        """The manifest of `obj` as exported, or None when it is not exported."""
        if obj is None or not self.scope.wants(key, obj):
            return None
        out = sanitize(obj, key.type)
        rt = self._types.get(key.type)
        # list responses omit apiVersion/kind on items; the file must carry them to be applied
        if rt is not None:
            out.setdefault("apiVersion", rt.api_version)
            out.setdefault("kind", rt.kind)
        if key.type == secrets.SECRET_TYPE:
            return secrets.prepare(out, self.scope.secrets)
        return out

    def render(self, key: ObjectKey, obj: dict[str, Any] | None) -> bytes | None:
        """The file content of `obj`, or None when it is not exported."""
        clean = self.clean(key, obj)
        return None if clean is None else yamlfmt.dump(clean)

    def metadata(self, type_names: set[str]) -> bytes:
        """The export's metadata file: only what changes when the cluster or options change."""
        return yamlfmt.dump(
            {
                "format": FORMAT_VERSION,
                "cluster": self.cluster,
                "secrets": str(self.scope.secrets),
                "types": sorted(type_names),
                "filters": self.scope.as_metadata(),
            },
            top_level=False,
        )


@dataclass(slots=True)
class Snapshot:
    """The object files of one moment and the types whose files must be kept as they were."""

    t: int
    files: dict[str, bytes]
    kept: dict[str, TypeState] = field(default_factory=dict)


def type_states_at(source: HistorySource, t: int) -> dict[str, TypeStatus]:
    """Per-type watch status at t when the source knows its history, else the current one."""
    at = getattr(source, "type_status_at", None)
    return dict(at(t) if callable(at) else source.type_status())


def kept_types(source: HistorySource, t: int, scope: ExportScope) -> dict[str, TypeState]:
    """Types in scope that were forbidden or still syncing at t (their files are kept)."""
    out: dict[str, TypeState] = {}
    for name, status in type_states_at(source, t).items():
        if status.state in KEPT_STATES and (scope.types is None or name in scope.types):
            out[name] = status.state
    return out


def snapshot(
    source: HistorySource, t: int, scope: ExportScope, renderer: Renderer | None = None
) -> Snapshot:
    """Render every exported object that exists at t (kept types are not rendered)."""
    renderer = renderer or Renderer(source, scope)
    kept = kept_types(source, t, scope)
    files: dict[str, bytes] = {}
    tmap = source.tmap
    type_names = scope.types if scope.types is not None else tmap.types()
    for type_name in sorted(type_names):
        if type_name in kept:
            continue
        namespaces = _namespaces_for(scope, type_name)
        for key in tmap.keys_at(t, type_name, namespaces):
            if not scope.wants_key(key):
                continue
            data = renderer.render(key, tmap.get(key, t))
            if data is not None:
                files[renderer.path(key)] = data
    return Snapshot(t, files, kept=kept)


def _namespaces_for(scope: ExportScope, type_name: str) -> set[str] | None:
    # narrow the index walk to the namespaces asked for ("" holds cluster-scoped objects)
    if scope.namespaces is None:
        return None
    return {*scope.namespaces, ""}
