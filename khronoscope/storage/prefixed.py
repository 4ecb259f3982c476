"""A view of one sub-prefix of a BlobStore as a store of its own (a recording among several
under `s3://BUCKET/clusters/`), without a new connection per recording."""

from __future__ import annotations

from collections.abc import Iterator

from khronoscope.storage import BlobInfo, BlobStore


class PrefixedStore:
    """The objects of `inner` under `prefix` ('name/'), named relative to it."""

    def __init__(self, inner: BlobStore, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.url = f"{inner.url.rstrip('/')}/{self.prefix.rstrip('/')}" if prefix else inner.url
        self.capabilities = inner.capabilities

    def put(self, name: str, data: bytes) -> None:
        """Write through."""
        self.inner.put(self.prefix + name, data)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Create through."""
        return self.inner.put_if_absent(self.prefix + name, data)

    def get(self, name: str) -> bytes:
        """Read through."""
        return self.inner.get(self.prefix + name)

    def get_range(self, name: str, start: int, length: int) -> bytes:
        """Read through."""
        return self.inner.get_range(self.prefix + name, start, length)

    def stat(self, name: str) -> BlobInfo | None:
        """Stat through, renamed."""
        info = self.inner.stat(self.prefix + name)
        return None if info is None else BlobInfo(name, info.size, info.mtime_ns)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """List through, renamed."""
        cut = len(self.prefix)
        for b in self.inner.list(self.prefix + prefix):
            yield BlobInfo(b.name[cut:], b.size, b.mtime_ns)

    def delete(self, name: str) -> None:
        """Delete through."""
        self.inner.delete(self.prefix + name)
