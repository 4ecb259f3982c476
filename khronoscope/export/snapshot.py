"""The state at t as files: {path: bytes}, a pure function of (state at t, options).

Two halves: `moment_steps` reads the state at t from the source (where the TemporalMap lives,
in steps), `render` turns what was read into files (anywhere, e.g. in a thread).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.provenance import is_unknown, reconstructed_note, unknown_reason
from khronoscope.core.source import HistorySource, TypeState, TypeStatus
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.export import layout, secrets, yamlfmt
from khronoscope.export.changed_by import in_force_at
from khronoscope.export.fingerprint import manifest_fingerprint
from khronoscope.export.plan import FORMAT_VERSION
from khronoscope.export.sanitize import sanitize
from khronoscope.export.scope import ExportScope, merged_filters
from khronoscope.export.steps import Progress, Steps, objects_at, run_steps
from khronoscope.export.target import check_time

# a type in one of these states at t was not readable: its files stay as the last export had them
KEPT_STATES = frozenset({TypeState.FORBIDDEN, TypeState.SYNCING})


class Renderer:
    """Turns one object into its file: scope check, sanitizing, Secrets, YAML."""

    def __init__(self, cluster: str, types: Mapping[str, ResourceType], scope: ExportScope) -> None:
        self.scope = scope
        self.cluster = cluster
        self._types: dict[str, ResourceType] = dict(types)
        # the filters of the export already on the branch: a scoped export adds to them
        self.base_filters: dict[str, Any] | None = None
        # a range asks the path of the same objects at every change
        self._paths: dict[ObjectKey, str] = {}
        # when set, `render` notes each manifest's fingerprint here (a range starts from them)
        self.fingerprints: dict[ObjectKey, bytes] | None = None

    @classmethod
    def of(cls, source: HistorySource, scope: ExportScope) -> Renderer:
        """A renderer for the cluster and types of `source`."""
        return cls(source.info.cluster, source.resource_types(), scope)

    def path(self, key: ObjectKey) -> str:
        """The repository path of `key` (under the scope's prefix)."""
        path = self._paths.get(key)
        if path is None:
            path = self._paths[key] = layout.path_for(key, self.scope.prefix)
        return path

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
        if clean is None:
            return None
        if self.fingerprints is not None:
            mark = manifest_fingerprint(clean)
            if mark is not None:
                self.fingerprints[key] = mark
        return yamlfmt.dump(clean)

    def metadata(self, type_names: set[str]) -> bytes:
        """The export's metadata file: only what changes when the cluster or options change."""
        return yamlfmt.dump(
            {
                "format": FORMAT_VERSION,
                "cluster": self.cluster,
                "secrets": str(self.scope.secrets),
                "types": sorted(type_names),
                "filters": merged_filters(self.base_filters, self.scope.as_metadata()),
            },
            top_level=False,
        )


@dataclass(frozen=True, slots=True)
class MomentState:
    """What an export needs of the source at t, read and detached: safe to use in any thread.

    `objects` are the objects in scope that exist at t (private dicts); `kept` the types whose
    files stay as the last export had them.
    """

    t: int
    cluster: str
    types: dict[str, ResourceType]
    scope: ExportScope
    objects: dict[ObjectKey, dict[str, Any]]
    kept: dict[str, TypeState]
    # who wrote each object's version in force (audit user, field manager), for the trailers
    who: dict[ObjectKey, str] = field(default_factory=dict)


@dataclass(slots=True)
class Snapshot:
    """The object files of one moment and the types whose files must be kept as they were."""

    t: int
    files: dict[str, bytes]
    kept: dict[str, TypeState] = field(default_factory=dict)
    # objects whose state at t is not known (or only rebuilt): their files stay as they were
    held: dict[str, str] = field(default_factory=dict)


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


def moment_steps(source: HistorySource, t: int, scope: ExportScope) -> Steps[MomentState]:
    """Read the state at t for `scope` from the source, a step per chunk of objects.

    Only this touches the source; kept types are not read.
    """
    check_time(source, t)
    kept = kept_types(source, t, scope)
    tmap = source.tmap
    names = scope.types if scope.types is not None else tmap.types()
    type_names = [name for name in sorted(names) if name not in kept]
    objects = yield from objects_at(
        tmap, t, type_names, _namespaces_for(scope), scope.wants_key, scope.wants
    )
    types = dict(source.resource_types())
    who = in_force_at(source, objects, t)
    return MomentState(t, source.info.cluster, types, scope, objects, kept, who)


def read_moment(source: HistorySource, t: int, scope: ExportScope) -> MomentState:
    """`moment_steps` run straight through."""
    return run_steps(moment_steps(source, t, scope))


def render(
    state: MomentState, renderer: Renderer | None = None, progress: Progress | None = None
) -> Snapshot:
    """The files of every object read (pure: no source, no repository)."""
    renderer = renderer or Renderer(state.cluster, state.types, state.scope)
    files: dict[str, bytes] = {}
    total = len(state.objects)
    if progress:
        progress(0, total)
    held: dict[str, str] = {}
    for done, (key, obj) in enumerate(state.objects.items(), 1):
        why = held_reason(obj)
        if why:
            held[renderer.path(key)] = f"{key}: {why}"
            continue
        data = renderer.render(key, obj)
        if data is not None:
            files[renderer.path(key)] = data
        if progress:
            progress(done, total)
    return Snapshot(state.t, files, kept=state.kept, held=held)


def held_reason(obj: dict[str, Any] | None) -> str:
    """Why an object's file is not written from this state ("" when it is): its content is not
    known (a write the audit log holds without its body) or only rebuilt (a reconstructed
    version holds part of it). Writing either would put a state nobody saw into Git."""
    if is_unknown(obj):
        return "content not known at this moment (" + unknown_reason(obj) + ")"
    if reconstructed_note(obj):
        return "only reconstructed at this moment (" + reconstructed_note(obj) + ")"
    return ""


def held_notes(held: dict[str, str]) -> list[str]:
    """Commit message lines naming the objects whose files were left as they were."""
    if not held:
        return []
    lines = [f"Left as before (state not known): {why}" for _, why in sorted(held.items())[:20]]
    if len(held) > 20:
        lines.append(f"Left as before (state not known): ... and {len(held) - 20} more")
    return lines


def snapshot(
    source: HistorySource, t: int, scope: ExportScope, renderer: Renderer | None = None
) -> Snapshot:
    """Render every exported object that exists at t (kept types are not rendered)."""
    return render(read_moment(source, t, scope), renderer)


def _namespaces_for(scope: ExportScope) -> set[str] | None:
    # narrow the index walk to the namespaces asked for ("" holds cluster-scoped objects)
    if scope.namespaces is None:
        return None
    return {*scope.namespaces, ""}
