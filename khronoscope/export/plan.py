"""The layout's files on a branch and the edits that make the next commit.

Only the layout's own paths under the prefix (the metadata file and `<scope>/<type>/<name>.yaml`)
belong to the export; anything else there (a README, CI files) is left alone, so a user may keep
notes next to an export without the next commit deleting them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from khronoscope.core.safetext import safe_line
from khronoscope.core.timefmt import format_iso
from khronoscope.export import layout

REGULAR = "100644"
FORMAT_VERSION = 1
MAX_LISTED_PATHS = 100
MAX_CHANGED_BY = 20  # `Khronoscope-Changed-By` trailers per commit


@dataclass(frozen=True, slots=True)
class FileOp:
    """Write `data` at `path`, or delete `path` when `data` is None."""

    path: str
    data: bytes | None
    kind: str = "M"  # A, M or D, for the commit message


@dataclass(slots=True)
class Counts:
    """Object files added, modified and deleted by one commit."""

    added: int = 0
    modified: int = 0
    deleted: int = 0

    @property
    def total(self) -> int:
        """How many object files the commit touches."""
        return self.added + self.modified + self.deleted

    def __iadd__(self, other: Counts) -> Counts:
        self.added += other.added
        self.modified += other.modified
        self.deleted += other.deleted
        return self


def blob_hasher(object_format: str) -> Callable[[bytes], str]:
    """The function computing a blob's object id as Git does (sha1 or sha256 repositories)."""

    def blob_id(data: bytes) -> str:
        h = hashlib.new(object_format)
        h.update(b"blob %d\0" % len(data))
        h.update(data)
        return h.hexdigest()

    return blob_id


class ExportTree:
    """The export's files under a prefix (by object id) and the edits staged for the next commit."""

    def __init__(
        self,
        prefix: str,
        blob_id: Callable[[bytes], str],
        base: dict[str, tuple[str, str]],
    ) -> None:
        self.prefix = prefix
        self.blob_id = blob_id
        self.entries: dict[str, str] = {}
        self.type_count: Counter[str] = Counter()
        # path -> (content, its blob id when already known), or None to remove the file
        self._pending: dict[str, tuple[bytes, str | None] | None] = {}
        self._last_types: tuple[str, ...] | None = None
        # a range parses the same few paths thousands of times
        self._type_dirs: dict[str, str] = {}
        for path, (mode, oid) in base.items():
            rel = self.rel(path)
            if rel is None:
                continue
            # a non-regular file at a layout path differs from anything we would write
            self.entries[path] = oid if mode == REGULAR else f"{mode}:{oid}"
            parsed = layout.parse(rel)
            if parsed is not None:
                self.type_count[parsed.type_dir] += 1

    def rel(self, path: str) -> str | None:
        """`path` relative to the prefix if it is one of the layout's paths, else None."""
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return None
            rel = path[len(self.prefix) + 1 :]
        else:
            rel = path
        if rel == layout.METADATA_FILE or layout.parse(rel) is not None:
            return rel
        return None

    @property
    def metadata_path(self) -> str:
        """Where the metadata file lives."""
        return layout.join(self.prefix, layout.METADATA_FILE)

    def is_export(self) -> bool:
        """True if the tree holds a khronoscope export (or nothing of the layout at all)."""
        return not self.entries or self.metadata_path in self.entries

    def object_paths(self) -> Iterable[str]:
        """The object files currently in the tree."""
        meta = self.metadata_path
        return (p for p in self.entries if p != meta)

    def stage(self, path: str, data: bytes | None) -> None:
        """Set the content of `path` (None: remove it) for the next commit."""
        self._pending[path] = None if data is None else (data, None)

    def stage_blob(self, path: str, data: bytes) -> str:
        """Set the content of `path` for the next commit; returns its blob id."""
        oid = self.blob_id(data)
        self._pending[path] = (data, oid)
        return oid

    def holds(self, path: str, oid: str) -> bool:
        """True when the next commit keeps `path` as it is, with blob `oid`."""
        return path not in self._pending and self.entries.get(path) == oid

    def replace_all(
        self,
        files: dict[str, bytes],
        keep_type_dirs: set[str],
        keep_paths: Iterable[str] = (),
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """Stage the tree to be exactly `files` within the export's scope (`owns`, a test of a
        path relative to the prefix; None: every object file), except files of kept types and
        the `keep_paths` (files left as they are).

        Files outside the scope are never removed: they belong to other (scoped) exports."""
        keep = set(keep_paths)
        for path in list(self.object_paths()):
            if path in files or path in keep:
                continue
            rel = self.rel(path)
            parsed = layout.parse(rel) if rel else None
            if parsed is not None and parsed.type_dir in keep_type_dirs:
                continue
            if owns is None or (rel is not None and owns(rel)):
                self.stage(path, None)
        for path, data in files.items():
            self.stage(path, data)

    def take(self, metadata: Callable[[set[str]], bytes]) -> tuple[list[FileOp], Counts]:
        """The staged edits that change the tree (sorted by path) and their counts.

        `metadata` gives the metadata file for a set of type names; for one tree it must
        depend on nothing else."""
        ops: list[FileOp] = []
        counts = Counts()
        for path in sorted(self._pending):
            staged = self._pending[path]
            old = self.entries.get(path)
            if staged is None:
                if old is None:
                    continue
                del self.entries[path]
                self.type_count[self._type_dir(path)] -= 1
                counts.deleted += 1
                ops.append(FileOp(path, None, "D"))
            else:
                data, oid = staged
                if oid is None:
                    oid = self.blob_id(data)
                if old == oid:
                    continue
                self.entries[path] = oid
                if old is None:
                    self.type_count[self._type_dir(path)] += 1
                    counts.added += 1
                else:
                    counts.modified += 1
                ops.append(FileOp(path, data, "M" if old else "A"))
        self._pending.clear()
        # the set of types changes only when a file is added or removed (most commits of a
        # range only modify)
        if self._last_types is not None and not (counts.added or counts.deleted):
            return ops, counts
        types = tuple(sorted(t for t, n in self.type_count.items() if n > 0))
        # `metadata` depends only on the set of types (the export's options are fixed for one
        # tree): with the same types it would write the bytes already in the tree
        if types != self._last_types:
            self._last_types = types
            data = metadata({layout.decode(t) or t for t in types})
            oid = self.blob_id(data)
            if self.entries.get(self.metadata_path) != oid:
                self.entries[self.metadata_path] = oid
                ops.append(FileOp(self.metadata_path, data, "M"))
        return ops, counts

    def _type_dir(self, path: str) -> str:
        tdir = self._type_dirs.get(path)
        if tdir is None:
            rel = self.rel(path)
            parsed = layout.parse(rel) if rel else None
            tdir = self._type_dirs[path] = parsed.type_dir if parsed else ""
        return tdir


def commit_message(
    cluster: str,
    t: int,
    ops: list[FileOp],
    counts: Counts,
    notes: Iterable[str] = (),
    changed_by: Iterable[tuple[str, str]] = (),
) -> str:
    """Subject `snapshot <cluster> @ <t>: +A ~M -D`, changed paths (capped), notes, trailers.

    `changed_by`: (who, object) of the changed objects: a `Khronoscope-Changed-By: who: object`
    trailer each (capped), who being the audit user where known and the field manager."""
    iso = format_iso(t)
    subject = f"snapshot {cluster} @ {iso}: +{counts.added} ~{counts.modified} -{counts.deleted}"
    lines = [subject, ""]
    paths = [op for op in ops if not op.path.endswith(layout.METADATA_FILE)]
    for op in paths[:MAX_LISTED_PATHS]:
        lines.append(f"{op.kind} {op.path}")
    if len(paths) > MAX_LISTED_PATHS:
        lines.append(f"... and {len(paths) - MAX_LISTED_PATHS} more")
    notes = list(notes)
    if notes:
        lines += ["", *notes]
    lines.append("")
    by = sorted(set(changed_by), key=lambda wo: wo[1])
    for who, what in by[:MAX_CHANGED_BY]:
        lines.append(f"Khronoscope-Changed-By: {who}: {what}")
    if len(by) > MAX_CHANGED_BY:
        lines.append(f"Khronoscope-Changed-By: ... and {len(by) - MAX_CHANGED_BY} more")
    lines += [
        f"Khronoscope-Time: {iso}",
        f"Khronoscope-Cluster: {cluster}",
        f"Khronoscope-Format: {FORMAT_VERSION}",
    ]
    # the cluster's name, users, type names and notes are the cluster's text, and `git log`
    # prints a message as it is: each line is made one line with its controls shown
    return "\n".join(safe_line(line) for line in lines) + "\n"
