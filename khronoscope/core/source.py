"""What every view reads from: a recorded past, live (a cluster session) or offline (a recording).

The TUI, export and the scripts' commands depend only on this protocol, so live and replay share
one code path; the only difference a view may see is `is_live`. Pod logs and metrics are kept
beside the object history: a source that has them offers `logs` and `metrics` stores
(`TelemetrySource`), found with `logs_of` / `metrics_of`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from khronoscope.core.types import ObjectKey, ResourceType
    from khronoscope.telemetry.logstore import LogStore
    from khronoscope.telemetry.metricstore import MetricStore
    from khronoscope.temporal.map import TemporalMap


class TypeState(enum.Enum):
    """Where the watch of one resource type stands."""

    SYNCING = "syncing"
    LIVE = "live"
    RETRYING = "retrying"
    FORBIDDEN = "forbidden"
    GONE = "gone"


@dataclass(slots=True)
class TypeStatus:
    """Per-type watch status for the header and the export's commit message."""

    state: TypeState
    since: int
    error: str = ""
    objects: int = 0
    changes: int = 0


@dataclass(frozen=True, slots=True)
class Gap:
    """An interval in which changes of `type` may have been missed (watch interrupted, 410)."""

    start: int
    end: int
    type: str
    reason: str


@dataclass(slots=True)
class Bookmark:
    """A labelled moment, optionally on one object."""

    t: int
    label: str
    key: ObjectKey | None = None
    id: int = 0


@dataclass(slots=True)
class SourceInfo:
    """Identity of what was recorded."""

    cluster: str
    context: str = ""
    server_version: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class HistorySource(Protocol):
    """A recorded past that views query. `tmap` holds every version; the rest describes it."""

    tmap: TemporalMap
    info: SourceInfo

    @property
    def is_live(self) -> bool:
        """True while changes keep arriving from a cluster (False for a finished recording)."""
        ...

    def resource_types(self) -> dict[str, ResourceType]:
        """Every known type by its name (`pods`, `deployments.apps`)."""
        ...

    def type_status(self) -> dict[str, TypeStatus]:
        """The watch status of each type by name."""
        ...

    def gaps(self) -> list[Gap]:
        """Intervals where watching was interrupted, oldest first."""
        ...

    def bookmarks(self) -> list[Bookmark]:
        """The user's bookmarks, oldest first."""
        ...

    def add_bookmark(self, bookmark: Bookmark) -> Bookmark:
        """Store a bookmark (persisted with the recording when there is one)."""
        ...

    def remove_bookmark(self, bookmark_id: int) -> None:
        """Delete a bookmark by id."""
        ...

    def rename_bookmark(self, bookmark_id: int, label: str) -> Bookmark | None:
        """Give a bookmark a new label (persisted like `add_bookmark`); None if there is none."""
        ...


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """One kubeconfig context: its name, cluster, user, default namespace, whether in use."""

    name: str
    cluster: str = ""
    user: str = ""
    namespace: str = ""
    current: bool = False


@runtime_checkable
class ContextSource(Protocol):
    """A live source that can list the kubeconfig's contexts (the app switches by restarting
    the session on another one)."""

    def contexts(self) -> list[ContextInfo]:
        """Every context of the kubeconfig it was started from, the one in use marked
        (raises KhronoscopeError with one line when the kubeconfig cannot be read)."""
        ...


@dataclass(frozen=True, slots=True)
class FetchedLog:
    """A container's log fetched on demand (not captured at its time): when it was fetched,
    which instance (`previous`: the one before the last restart), its lines with the kubelet's
    timestamps, or why there are none."""

    container: str
    previous: bool
    fetched_at: int
    lines: tuple[tuple[int, str], ...] = ()
    error: str = ""


@runtime_checkable
class LogFetchSource(Protocol):
    """A live source that can fetch a pod's logs now (what `kubectl logs [--previous]` shows)."""

    async def fetch_logs(
        self, key: ObjectKey, container: str, previous: bool, tail: int
    ) -> FetchedLog:
        """The last `tail` lines of one container instance (errors in `error`, never raised)."""
        ...


class TelemetrySource(Protocol):
    """A HistorySource that also holds pod logs and metrics, each in its own time-indexed store
    (a live session fills them as it captures, a recording when it is opened)."""

    logs: LogStore
    metrics: MetricStore


def logs_of(source: object) -> LogStore | None:
    """The source's log store, or None when it keeps no logs."""
    from khronoscope.telemetry.logstore import LogStore

    store = getattr(source, "logs", None)
    return store if isinstance(store, LogStore) else None


def metrics_of(source: object) -> MetricStore | None:
    """The source's metric store, or None when it keeps no metrics."""
    from khronoscope.telemetry.metricstore import MetricStore

    store = getattr(source, "metrics", None)
    return store if isinstance(store, MetricStore) else None
