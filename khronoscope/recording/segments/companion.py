"""The companion of a segmented recording: history imported from audit logs, merged in.

`import audit --into REC` stores it as one object of REC's store, `companion/audit.khr`: a
format-1 recording (recording/companion.py says what it holds), written once, never modified,
so the same layout works in a directory and in an object store. Opening REC reads it whole
into an in-memory TemporalMap, the LazyHistory's overlay: its versions of an object show
before the object's first recorded version (the recording wins after it), its PROVENANCE
records attribute the recording's versions, its GAPs mark where the two disagree. The audit
part is usually far smaller than the recording; it costs what a TemporalMap holding it costs
(bench/audit.py's bytes per imported change on disk, in RAM the map's packed versions), the
recording itself stays lazy.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khronoscope.recording.companion import Companion, belongs
from khronoscope.recording.loss import Problem
from khronoscope.recording.reader import NotARecording, RecordingReader
from khronoscope.recording.replay import Extras
from khronoscope.recording.segments import layout
from khronoscope.storage import BlobNotFound, BlobStore
from khronoscope.temporal.map import TemporalMap


@dataclass(slots=True)
class MergedCompanion:
    """What a companion added to an opened recording."""

    extras: Extras = field(default_factory=Extras)  # its PROVENANCE and GAP records
    first_t: int | None = None  # its first change
    changes: int = 0
    problems: list[Problem] = field(default_factory=list)


def load_companion(
    store: BlobStore, header: dict[str, Any], overlay: TemporalMap, display: str
) -> MergedCompanion | None:
    """Put the companion of the recording in `store` (whose header is `header`) into
    `overlay`; None when it has none. A companion that cannot be used is reported, not
    merged."""
    name = layout.AUDIT_COMPANION
    shown = f"{display.rstrip('/')}/{name}"
    try:
        data = store.get(name)
    except BlobNotFound:
        return None
    merged = MergedCompanion()
    # the format-1 reader reads a file: a private copy, removed once read
    fd, tmp = tempfile.mkstemp(prefix="khronoscope-companion-", suffix=".khr")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        del data
        try:
            reader = RecordingReader(tmp)
        except NotARecording as err:
            why = str(err).replace(tmp, shown)
            merged.problems.append(Problem(0, 0, f"companion {name} not used: {why}"))
            return merged
        try:
            if not belongs(reader.header, header):
                what = f"companion {name} not used: made for another recording"
                merged.problems.append(Problem(0, 0, what))
                return merged
            companion = Companion(Path(shown), reader)
            for _ in companion.load(overlay, merged.extras):
                pass
            merged.problems.extend(companion.problems())
            merged.first_t = reader.first_t
            merged.changes = reader.change_count
        finally:
            reader.close()
    finally:
        os.unlink(tmp)
    return merged
