"""Opening a recording whatever its format: a format-2 directory (read lazily) or a v0.1
single file (format 1, loaded into memory as before)."""

from __future__ import annotations

import os
from pathlib import Path

from khronoscope.core.source import HistorySource
from khronoscope.recording.segments.history import RowFn
from khronoscope.recording.segments.source import is_segmented, open_segmented
from khronoscope.storage.url import parse_store_url


def open_any(
    path: str | os.PathLike[str],
    row_fn: RowFn | None = None,
    follow: bool = False,
    cache_mb: int | None = None,
    history: bool = True,
    first_types: list[str] | None = None,
) -> HistorySource:
    """The recording at `path`: lazily when segmented; a v0.1 file with its whole history
    (`history=False`: its newest moment first, the past loaded by `load_step`). `path` may be
    a URL: `file:///PATH`, or `s3://BUCKET/PREFIX` (fetched through the on-disk cache, with
    progress on a terminal)."""
    if isinstance(path, str):
        where = parse_store_url(path)
        if where.remote:
            from khronoscope.recording.remote import open_url

            return open_url(path, row_fn=row_fn, follow=follow, cache_mb=cache_mb).source
        assert where.path is not None
        path = where.path
    p = Path(path)
    if is_segmented(p):
        return open_segmented(p, row_fn=row_fn, follow=follow, cache_mb=cache_mb)
    from khronoscope.recording.source import RecordingSource

    source = RecordingSource(p, row_fn=row_fn, follow=follow, first_types=first_types)
    if history:
        source.load_all()
    return source
