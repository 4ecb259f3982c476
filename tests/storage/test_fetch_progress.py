"""While a recording in object storage is fetched, a terminal shows what is being fetched,
and the line is gone once the fetch is done (the command's own output stays clean)."""

from __future__ import annotations

import io
import time

from khronoscope.recording.remote import CountingStore, FetchProgress
from khronoscope.storage.local import LocalStore


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class SlowStore(LocalStore):
    def get_range(self, name: str, start: int, length: int) -> bytes:
        time.sleep(0.6)
        return super().get_range(name, start, length)


def test_a_slow_fetch_draws_a_progress_line_then_erases_it(tmp_path):
    store = SlowStore(tmp_path)
    store.put("segments/a.seg", b"x" * 5000)
    term = Terminal()
    progress = FetchProgress("s3://bucket/clusters/prod", term)
    counted = CountingStore(store, progress)
    try:
        assert counted.get_range("segments/a.seg", 0, 4096) == b"x" * 4096
    finally:
        progress.close()
    text = term.getvalue()
    assert "fetching s3://bucket/clusters/prod:" in text
    assert text.endswith("\r\033[K"), "the line is erased when the fetch ends"
    assert (progress.requests, progress.bytes) == (1, 4096)


def test_no_line_when_not_a_terminal_or_once_the_app_runs(tmp_path):
    store = SlowStore(tmp_path)
    store.put("o", b"y" * 10)
    plain = io.StringIO()
    progress = FetchProgress("s3://b/p", plain)
    CountingStore(store, progress).get_range("o", 0, 10)
    progress.close()
    assert plain.getvalue() == ""
    term = Terminal()
    progress = FetchProgress("s3://b/p", term)
    progress.quiet()
    CountingStore(store, progress).get_range("o", 0, 10)
    progress.close()
    assert term.getvalue() == ""
