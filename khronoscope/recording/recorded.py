"""What every recorded source answers the same way, v0.1 files and segmented recordings alike:
discovery completed from the objects, watch status, gaps, bookmarks through the sidecar, and
whether the recorder of a followed recording is still writing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from khronoscope.core.bookmarks import BookmarkStore, StoredBookmarks
from khronoscope.core.source import Gap, TypeStatus
from khronoscope.core.timefmt import format_iso
from khronoscope.core.types import ResourceType
from khronoscope.recording.replay import Extras

# for recordings without discovery records (kubectl's short names of the built-in types)
KNOWN_SHORT_NAMES = {
    "pods": ("po",),
    "services": ("svc",),
    "configmaps": ("cm",),
    "namespaces": ("ns",),
    "nodes": ("no",),
    "events": ("ev",),
    "persistentvolumeclaims": ("pvc",),
    "persistentvolumes": ("pv",),
    "serviceaccounts": ("sa",),
    "endpoints": ("ep",),
    "deployments.apps": ("deploy",),
    "replicasets.apps": ("rs",),
    "statefulsets.apps": ("sts",),
    "daemonsets.apps": ("ds",),
    "cronjobs.batch": ("cj",),
    "ingresses.networking.k8s.io": ("ing",),
}


WRITER_GONE_AFTER = 3.0
"""Seconds without growth after which a followed recording whose writer's lock is gone is done."""


@dataclass(frozen=True, slots=True)
class WriterState:
    """Whether the recorder of a followed recording stopped: `how` is "closed" (its close
    record), "gone" (no lock and no growth: it died), or "replaced" (the path names another
    file now)."""

    stopped: bool = False
    at: int | None = None  # when: the close record's time, or the last thing it wrote
    how: str = ""

    def describe(self) -> str:
        """One line for the user."""
        when = format_iso(self.at) if self.at is not None else "an unknown time"
        if self.how == "closed":
            return f"the recorder stopped at {when} (closed cleanly)"
        if self.how == "replaced":
            return (
                f"the file was rewritten (retention) or moved after {when}: open it again to "
                "follow on"
            )
        return f"the recorder is gone (it last wrote at {when} and no longer holds the file)"


class RecordedSource(StoredBookmarks):
    """The HistorySource answers shared by the recorded sources; a subclass sets the attributes
    below and says how to find one object of a type (`_sample_object`)."""

    follow: bool
    tmap: Any  # a TemporalMap or a LazyHistory: the same read API
    bookmark_store: BookmarkStore
    _extras: Extras
    _writer: WriterState

    @property
    def is_live(self) -> bool:
        """True only when following a recording that is still being written."""
        return self.follow and not self._writer.stopped

    def writer_state(self) -> WriterState:
        """Whether the recorder of a followed recording has stopped, when, and how."""
        return self._writer

    def resource_types(self) -> dict[str, ResourceType]:
        """The recorded discovery, completed with types seen only in objects."""
        types = dict(self._extras.types)
        for name in self.tmap.types():
            if name not in types:
                types[name] = self._guess_type(name)
        return types

    def _sample_object(self, type_name: str) -> dict[str, Any] | None:
        """One object of the type (its kind and apiVersion name the type), or None."""
        raise NotImplementedError

    def _guess_type(self, name: str) -> ResourceType:
        plural, _, group = name.partition(".")
        namespaced = any(ns for ns in self.tmap.namespaces(name))
        kind, version = plural.rstrip("s").capitalize(), "v1"
        obj = self._sample_object(name)
        if obj:
            kind = str(obj.get("kind") or kind)
            version = str(obj.get("apiVersion") or version).rpartition("/")[2]
        shorts = KNOWN_SHORT_NAMES.get(name, ())
        return ResourceType(
            group, version, plural, kind, namespaced, shorts, ("list", "watch"), kind.lower()
        )

    def type_status(self) -> dict[str, TypeStatus]:
        """The last recorded watch status of each type."""
        return dict(self._extras.status)

    def gaps(self) -> list[Gap]:
        """Recorded gaps (with the stretches lost to damage), oldest first."""
        return self._extras.gap_list()
