"""Bookmarks made while replaying a recording: kept in a sidecar file, never in the recording.

A recording being replayed may still be written by a recorder (`--follow`), may be read-only, or
may be evidence someone else will check: so replay never writes into it. Bookmarks added or removed
during replay go to `<recording>.bookmarks` (JSON lines, append-only) next to it, or, when that
directory is not writable, to the user's data directory under a name derived from the recording's
absolute path. Bookmarks the recorder or the live app stored in the recording itself are shown too;
removing one of those writes a removal line to the sidecar.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import platformdirs

from khronoscope.core.files import is_plain_file, open_append
from khronoscope.core.source import Bookmark
from khronoscope.errors import KhronoscopeError
from khronoscope.recording.records import key_from_list, key_to_list


def sidecar_candidates(recording: Path) -> list[Path]:
    """Where a recording's bookmark sidecar may be: next to it, then in the user's data dir."""
    absolute = recording.resolve()
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:16]
    data = Path(platformdirs.user_data_dir("khronoscope")) / "bookmarks"
    return [
        absolute.with_name(absolute.name + ".bookmarks"),
        data / f"{absolute.name}-{digest}.bookmarks",
    ]


class BookmarkSidecar:
    """The replay-time bookmark changes of one recording: the journal of its BookmarkStore
    (core/bookmarks.py)."""

    def __init__(self, recording: Path) -> None:
        self.candidates = sidecar_candidates(recording)
        self.added: dict[int, Bookmark] = {}
        self.removed: set[int] = set()
        # a symlink planted at a candidate is never read or appended to
        self.path: Path | None = next((p for p in self.candidates if is_plain_file(p)), None)
        if self.path is not None:
            self._read(self.path)

    def _read(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash: the ones before it stand
            if entry.get("op") == "add":
                b = Bookmark(
                    entry["t"], entry["label"], key_from_list(entry.get("key")), entry["id"]
                )
                self.added[b.id] = b
                self.removed.discard(b.id)
            elif entry.get("op") == "del":
                self.added.pop(entry["id"], None)
                self.removed.add(entry["id"])

    def add(self, bookmark: Bookmark) -> None:
        """Persist an added (or renamed) bookmark."""
        self._append(
            {
                "op": "add",
                "id": bookmark.id,
                "t": bookmark.t,
                "label": bookmark.label,
                "key": key_to_list(bookmark.key),
            }
        )
        self.added[bookmark.id] = bookmark
        self.removed.discard(bookmark.id)

    def remove(self, bookmark_id: int) -> None:
        """Persist a removal."""
        self._append({"op": "del", "id": bookmark_id})
        self.added.pop(bookmark_id, None)
        self.removed.add(bookmark_id)

    def _append(self, entry: dict[str, object]) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        targets = [self.path] if self.path is not None else self.candidates
        last_err: OSError | None = None
        for path in targets:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = open_append(path)  # O_NOFOLLOW, 0600
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
                self.path = path
                return
            except OSError as err:
                last_err = err
        where = ", ".join(str(p) for p in targets)
        why = last_err.strerror if last_err is not None else "unknown error"
        raise KhronoscopeError(f"cannot save the bookmark ({why}): tried {where}")
