"""Where recordings live: a local directory or an object store, behind one small interface.

A segmented recording (docs/recording-format.md) is a set of immutable, write-once objects read
by byte range, so the same layout works in a directory and in an S3 bucket. `BlobStore` is the
whole contract between the recording layer and a backend; `open_store(url)` picks the backend
from a path or URL. Optional capabilities are declared on the store (`capabilities`), never
probed with getattr.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from khronoscope.errors import KhronoscopeError


class Capability(enum.Flag):
    """What a backend can do beyond the basic reads and writes."""

    NONE = 0
    # put_if_absent is atomic across processes and machines (a lease can be built on it)
    CONDITIONAL_CREATE = enum.auto()
    # objects are on this machine: no need for an on-disk cache in front of them
    LOCAL = enum.auto()


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """One stored object: its name relative to the store's root, size and last write."""

    name: str
    size: int
    mtime_ns: int


class BlobNotFound(FileNotFoundError):
    """The named object does not exist (or was deleted by retention meanwhile)."""


class StoreError(KhronoscopeError):
    """A store failed or cannot be used (bad URL, unreachable, denied): one line, no secrets."""


class BadLocation(StoreError):
    """A path or URL that names no store we can use (bad input: exit status 2)."""

    exit_code = 2


def check_name(name: str) -> None:
    """Refuse an object name that is empty, absolute, or has empty, '.' or '..' segments."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a valid object name: {name!r}")


class BlobStore(Protocol):
    """A flat namespace of immutable objects under one root (a directory, a bucket prefix).

    Names are relative, '/'-separated, never starting with '/' nor containing '..'. Every
    method is synchronous and may block on I/O: callers run it in a thread or worker.
    """

    url: str
    capabilities: Capability

    def put(self, name: str, data: bytes) -> None:
        """Write an object whole; readers see all of it or none (never a partial object)."""
        ...

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create `name` only if it does not exist; False if it already did."""
        ...

    def get(self, name: str) -> bytes:
        """The whole object; BlobNotFound if absent."""
        ...

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """`length` bytes from `start` (fewer at the end of the object); BlobNotFound if absent."""
        ...

    def stat(self, name: str) -> BlobInfo | None:
        """Size and last write of `name`, or None if absent."""
        ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Every object whose name starts with `prefix`, in name order."""
        ...

    def delete(self, name: str) -> None:
        """Remove `name` (no error if it is already gone)."""
        ...


def open_store(url: str, *, immutable: Callable[[str], bool] | None = None) -> BlobStore:
    """The store a path or URL names: a directory, `file:///...` or `s3://BUCKET/PREFIX`;
    remote reads of the names `immutable` accepts go through the on-disk cache."""
    from khronoscope.storage.url import open_store as _open

    return _open(url, immutable=immutable)
