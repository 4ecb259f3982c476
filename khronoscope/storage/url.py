"""Where a recording is named: a local path, `file:///PATH` or `s3://BUCKET/PREFIX`.

`parse_store_url` only checks the text (no I/O, no credentials), so a command can refuse a bad
URL before it connects to a cluster; `open_store` builds the backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from khronoscope.storage import BadLocation, BlobStore
from khronoscope.storage.cache import BlockCache, CachedStore
from khronoscope.storage.local import LocalStore

# `scheme://`: anything else is a path (a file named `a:b` included)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HINTS = {
    "s3a": "use s3://",
    "s3n": "use s3://",
    "gs": "for Google Cloud Storage use s3://BUCKET/PREFIX with "
    "AWS_ENDPOINT_URL=https://storage.googleapis.com and HMAC keys",
    "gcs": "for Google Cloud Storage use s3://BUCKET/PREFIX with "
    "AWS_ENDPOINT_URL=https://storage.googleapis.com and HMAC keys",
    "minio": "use s3://BUCKET/PREFIX with AWS_ENDPOINT_URL pointing at the server",
    "http": "use s3://BUCKET/PREFIX with AWS_ENDPOINT_URL set to the server",
    "https": "use s3://BUCKET/PREFIX with AWS_ENDPOINT_URL set to the server",
}


@dataclass(frozen=True)
class StoreURL:
    """A parsed store location: `kind` is "local" (with `path`) or "s3" (with the URL)."""

    kind: str
    url: str
    path: Path | None = None

    @property
    def remote(self) -> bool:
        """True for object storage (reads go through the on-disk cache)."""
        return self.kind != "local"


def parse_store_url(text: str) -> StoreURL:
    """Check a path or URL without touching anything; a one-line StoreError if it is wrong."""
    if not text or not text.strip():
        raise BadLocation("no recording location given")
    m = _SCHEME.match(text)
    if m is None:
        return StoreURL("local", text, Path(text).expanduser())
    scheme = m.group(1).lower()
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise BadLocation(
                f"{text}: a file URL names a local path: file:///ABSOLUTE/PATH (three slashes)"
            )
        if parts.query or parts.fragment:
            raise BadLocation(f"{text}: a file URL has no '?' or '#' part")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise BadLocation(f"{text}: a file URL needs an absolute path (file:///PATH)")
        return StoreURL("local", text, Path(path))
    if scheme == "s3":
        from khronoscope.storage.s3 import parse_s3_url

        return StoreURL("s3", parse_s3_url(text).url)
    hint = _HINTS.get(scheme, "use a local path, file:///PATH or s3://BUCKET/PREFIX")
    raise BadLocation(f"{scheme}:// is not a supported storage URL: {hint}")


def open_store(
    text: str,
    *,
    immutable: Callable[[str], bool] | None = None,
    cache: BlockCache | None = None,
) -> BlobStore:
    """The BlobStore for a path or URL (S3 settings come from the AWS variables and files).

    With `immutable` (which names are written once and never change), reads of those names
    from a remote store go through the on-disk cache (`cache`, else the default one).
    """
    where = parse_store_url(text)
    if where.kind == "s3":
        from khronoscope.storage.s3 import S3Store

        store = S3Store(where.url)
        if immutable is None:
            return store
        return CachedStore(store, cache or BlockCache(), immutable, namespace=store.identity)
    assert where.path is not None
    return LocalStore(where.path)
