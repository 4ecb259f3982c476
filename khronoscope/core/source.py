"""What every view reads from: a recorded past, live (a cluster session) or offline (a recording).

The TUI, export and the scripts' commands depend only on this protocol, so live and replay share
one code path; the only difference a view may see is `is_live`. Pod logs and metrics are kept
beside the object history: a source that has them offers `logs` and `metrics` stores
(`TelemetrySource`), found with `logs_of` / `metrics_of`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from khronoscope.core.types import ObjectKey, ResourceType
    from khronoscope.recording.loss import LossReport, Problem
    from khronoscope.recording.recorded import WriterState
    from khronoscope.telemetry.logstore import LogStore
    from khronoscope.telemetry.marks import LogMarks
    from khronoscope.telemetry.metricstore import MetricStore
    from khronoscope.temporal.reader import TemporalReader


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


class SourceCapability(enum.Flag):
    """What a source can do beyond the HistorySource protocol, declared by the source (views
    check the flag, then use the matching protocol below; nothing is probed)."""

    NONE = 0
    # a recording: its own range (`start_t`, `end_t`) and what could not be read (`problems`)
    RECORDED = enum.auto()
    # history still loading in the background (`load_step`...): a v0.1 file
    LOADS_HISTORY = enum.auto()
    # a recording still written, followed (`poll`)
    FOLLOWS = enum.auto()
    # pod logs captured on demand (`log_marks`, `mark_logs`...): a live session
    CAPTURES_LOGS = enum.auto()
    # the kubeconfig's contexts listed (`contexts`): a live session, for :ctx
    LISTS_CONTEXTS = enum.auto()
    # a pod's logs fetched now, `kubectl logs [--previous]` (`fetch_logs`): a live session
    FETCHES_LOGS = enum.auto()


class HistorySource(Protocol):
    """A recorded past that views query. `tmap` reads every version (an in-memory TemporalMap,
    or a segmented recording read lazily); the rest describes it."""

    tmap: TemporalReader
    info: SourceInfo
    capabilities: SourceCapability

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


class RecordedSource(HistorySource, Protocol):
    """A recording (`SourceCapability.RECORDED`): its range, and its damage."""

    @property
    def start_t(self) -> int | None:
        """Its first moment."""
        ...

    @property
    def end_t(self) -> int | None:
        """Its newest moment (its stop time once the recorder stopped)."""
        ...

    def problems(self) -> list[Problem]:
        """What could not be read so far (each with `describe()`)."""
        ...

    def loss_report(self) -> LossReport:
        """Exactly what cannot be read, per type (as far as read so far)."""
        ...


class LoadingSource(RecordedSource, Protocol):
    """A recording whose past loads in the background (`SourceCapability.LOADS_HISTORY`)."""

    history_complete: bool
    total_changes: int
    loaded_changes: int
    lost_versions: int

    @property
    def complete_from(self) -> int | None:
        """Every moment from this one on is loaded."""
        ...

    def load_step(self, budget: float = 0.02) -> bool:
        """Load for about `budget` seconds; True while there is more."""
        ...


class FollowingSource(RecordedSource, Protocol):
    """A recording still written, followed (`SourceCapability.FOLLOWS`)."""

    def poll(self) -> int:
        """Read what was written since; returns the changes that came in."""
        ...

    def writer_state(self) -> WriterState:
        """Whether its recorder stopped, when, and how."""
        ...


class LogCapturingSource(HistorySource, Protocol):
    """A live session capturing pod logs on demand (`SourceCapability.CAPTURES_LOGS`)."""

    log_marks: LogMarks

    def mark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Start capturing a pod's logs (one container or all)."""
        ...

    def unmark_logs(self, key: ObjectKey, container: str | None = None) -> None:
        """Stop capturing them."""
        ...

    def log_status(self, key: ObjectKey) -> dict[str, Any]:
        """Where each container's capture stands."""


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """One kubeconfig context: its name, cluster, user, default namespace, whether in use."""

    name: str
    cluster: str = ""
    user: str = ""
    namespace: str = ""
    current: bool = False


class ContextSource(Protocol):
    """A live source that can list the kubeconfig's contexts (`SourceCapability.LISTS_CONTEXTS`;
    the app switches by restarting the session on another one)."""

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


class LogFetchSource(Protocol):
    """A live source that can fetch a pod's logs now, what `kubectl logs [--previous]` shows
    (`SourceCapability.FETCHES_LOGS`)."""

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


def recorded(source: HistorySource) -> RecordedSource | None:
    """The source as a recording, when it declares it is one."""
    if SourceCapability.RECORDED in source.capabilities:
        return cast("RecordedSource", source)
    return None


def log_capture(source: HistorySource) -> LogCapturingSource | None:
    """The source as a session capturing logs on demand, when it declares it is one."""
    if SourceCapability.CAPTURES_LOGS in source.capabilities:
        return cast("LogCapturingSource", source)
    return None


def context_lister(source: HistorySource) -> ContextSource | None:
    """The source as one that lists kubeconfig contexts, when it declares it can."""
    if SourceCapability.LISTS_CONTEXTS in source.capabilities:
        return cast("ContextSource", source)
    return None


def log_fetcher(source: HistorySource) -> LogFetchSource | None:
    """The source as one that fetches a pod's logs now, when it declares it can."""
    if SourceCapability.FETCHES_LOGS in source.capabilities:
        return cast("LogFetchSource", source)
    return None


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
