"""A recording's companion: history from before it began, imported later, in a file of its own.

A recording is evidence and is never rewritten. `khronoscope import audit FILE... --into REC`
therefore writes what the audit logs tell about the time before REC began into `REC.audit`, a
recording of its own (same format; `khronoscope open REC.audit` reads it alone) whose header
names the recording it belongs to. Opening REC merges it in: its versions of an object are put
before REC's first version of that object, never after (the recording wins), and its
PROVENANCE records attribute REC's own versions. Where the two disagree at the join, the
companion holds a GAP naming the object, written by the importer, so the step is marked.
A segmented recording keeps the same companion as an object of its store
(recording/segments/companion.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.recording import format as fmt
from khronoscope.recording.reader import NotARecording, Problem, RecordingReader
from khronoscope.recording.replay import Extras, ObjectReplay, damage_gap
from khronoscope.temporal.map import TemporalMap

SUFFIX = ".audit"
_SLICE = 256


def companion_path(recording: Path) -> Path:
    """Where the companion of `recording` lives: `REC.audit`, next to it."""
    return recording.with_name(recording.name + SUFFIX)


def companion_of(recording: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The header field of a companion that ties it to `recording` (its start and cluster)."""
    return {"name": recording.name, "start": header.get("start"), "cluster": header.get("cluster")}


def belongs(companion_header: dict[str, Any], recording_header: dict[str, Any]) -> bool:
    """True when a companion was made for the recording with this header."""
    tie = companion_header.get("companion_of")
    if not isinstance(tie, dict):
        return False
    return tie.get("start") == recording_header.get("start") and tie.get(
        "cluster"
    ) == recording_header.get("cluster")


class Companion:
    """An opened companion file (or the reason it cannot be used)."""

    def __init__(self, path: Path, reader: RecordingReader | None, error: str = "") -> None:
        self.path = path
        self.reader = reader
        self.error = error

    @classmethod
    def find(cls, recording: Path, header: dict[str, Any]) -> Companion | None:
        """The companion next to `recording`, if there is one."""
        path = companion_path(recording)
        if not path.is_file():
            return None
        try:
            reader = RecordingReader(path)
        except NotARecording as err:
            return cls(path, None, f"companion {path.name} not used: {err}")
        if not belongs(reader.header, header):
            reader.close()
            return cls(path, None, f"companion {path.name} not used: made for another recording")
        return cls(path, reader)

    @property
    def change_count(self) -> int:
        """Changes in the companion (from its block headers)."""
        return self.reader.change_count if self.reader is not None else 0

    def load(self, tmap: TemporalMap, extras: Extras) -> Iterator[None]:
        """Put the companion's versions before the map's (in slices; yields between them);
        its other records (provenance, gaps) go to `extras`."""
        reader = self.reader
        if reader is None:
            return
        bf = tmap.backfill()
        replay = ObjectReplay(on_put=bf.put_raw, on_delete=bf.delete)
        for i, b in enumerate(reader.blocks):
            if b.type != fmt.DATA:
                continue
            records = reader.records(b)
            if reader.is_bad(b):
                extras.add_gap(damage_gap(reader, i, f"companion {self.path.name} damaged"))
                continue
            for j, r in enumerate(records):
                if r[0] in fmt.CHANGE_KINDS:
                    replay.apply(r)
                else:
                    extras.apply(r)
                if j % _SLICE == _SLICE - 1:
                    yield
            yield
        bf.commit()

    def problems(self) -> list[Problem]:
        """Damage in the companion, or why it is not used, named as the companion's."""
        if self.reader is None:
            return [Problem(0, 0, self.error)]
        return [
            Problem(p.start, p.end, f"companion {self.path.name}: {p.what}", p.first_t, p.last_t)
            for p in self.reader.report()
        ]

    def close(self) -> None:
        """Close the file."""
        if self.reader is not None:
            self.reader.close()


def load_reconstructed(tmap: TemporalMap, items: list[tuple[ObjectKey, int, bytes]]) -> int:
    """Put reconstructed versions before each object's first version in the map."""
    bf = tmap.backfill()
    for key, t, raw in sorted(items, key=lambda kt: (kt[0], kt[1])):
        bf.put_raw(key, t, raw)
    return bf.commit()
