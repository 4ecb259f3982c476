"""Reading the next segment before the views ask for it, while time moves (play, step, go-to).

Every positioned read of a LazyHistory tells the Prefetcher the time and type read. Once the
time moves within a segment or into the next one (play, steps; not a jump far away such as a
go-to: the steps after it give the direction), the segment after the one read (before it, when
time goes back) is the one the views will cross into next: one daemon worker reads what that
crossing costs into the history's caches: the type's index and log, its start state, its
window, and the blocks holding the versions of the rows last drawn. The caches are the
history's own (bounded by --cache-mb, each guarded by its lock), so prefetching never holds
more memory than reading would, and a read returns the same whether the worker got there first
or not. The worker starts at the first move (one-shot commands never start it), waits for the
reader to pause (QUIET) so it spends the idle part of a frame, keeps only the newest request,
and stops on `close`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from khronoscope.recording.segments.history import LazyHistory

# the reader is left alone for this long after its last read before the worker starts
QUIET = 0.01
# at most this share of the block cache is filled by one prefetch (the rest is what is shown)
BLOCK_SHARE = 4

Request = tuple[int, str, int]  # seq, type, generation


class Prefetcher:
    """One worker thread reading the neighbouring segment of the one read last (see the module
    docstring). `note` is what the history calls on each read; `close` stops the worker."""

    def __init__(self, history: LazyHistory, quiet: float = QUIET) -> None:
        self.history = history
        self.quiet = quiet
        self._cond = threading.Condition()
        self._pending: Request | None = None
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._last_t: dict[str, int] = {}
        self._last_pos: dict[str, int] = {}
        self._last_note = 0.0
        # per type, the segment asked for last (asked again only once the reader asked for
        # another: what was read ahead may have left the caches since)
        self._asked: dict[str, tuple[int, int]] = {}
        self.warmed = 0  # segments read ahead (for tests and benchmarks)
        history.on_read = self.note

    # --- the reader's side (the UI thread): cheap, never waits ---------------------------------

    def note(self, t: int, type_: str, position: int) -> None:
        """A read at t of `type_` in the segment at `position` (of the history's shown ones)."""
        self._last_note = time.monotonic()
        last = self._last_t.get(type_)
        last_pos = self._last_pos.get(type_)
        self._last_t[type_] = t
        self._last_pos[type_] = position
        if last is None or last == t or self._closed:
            return
        if last_pos is None or abs(position - last_pos) > 1:
            return  # a jump (go-to, a random moment): no direction yet
        h = self.history
        segs = h.shown_segments
        target = position + (1 if t > last else -1)
        if not 0 <= target < len(segs) or segs[target].spool:
            return  # a spool is in memory already
        seq = segs[target].seq
        gen = h.generation
        if self._asked.get(type_) == (seq, gen):
            return
        self._asked[type_] = (seq, gen)
        with self._cond:
            if self._closed:
                return
            self._pending = (seq, type_, gen)  # the newest request wins
            self._cond.notify()
            # the app reads in worker threads too: one of them starts the worker, once
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="khronoscope-prefetch", daemon=True
                )
                self._thread.start()

    # --- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                request = self._pending
                self._pending = None
                self._busy = True
            try:
                assert request is not None
                self._warm(*request)
            except Exception:
                pass
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _wait_quiet(self) -> bool:
        """Wait until the reader paused; False when closed or a newer request came."""
        while True:
            if self._closed or self._pending is not None:
                return False
            left = self._last_note + self.quiet - time.monotonic()
            if left <= 0:
                return True
            time.sleep(left)

    def _warm(self, seq: int, type_: str, gen: int) -> None:
        h = self.history
        rec = h.rec
        if not self._wait_quiet() or h.generation != gen:
            return
        h.window(seq, type_)  # the index, the log, the start state, the window
        log = h.logs.get(seq, type_)
        if log is not None and not self._wait_quiet():
            return
        if log is not None:
            _ = log.entries  # the changes in time order: what steps and the cursor scan
        # the rows drawn when the reader paused are the ones it will draw across the boundary
        keys = h.shown_keys.get(type_, ())
        ix = rec.type_index(seq, type_)
        if ix is None or not keys:
            self.warmed += 1
            return
        blocks: list[int] = []
        for key in keys:
            j = ix.find(key.namespace, key.name)
            if j is None:
                continue
            for _, _, rid in ix.versions_of(j):
                if rid >= 0:
                    b = ix.locate(rid)[0]
                    if b not in blocks:
                        blocks.append(b)
        room = rec.blocks.budget // BLOCK_SHARE
        for b in blocks:
            if not self._wait_quiet() or h.generation != gen:
                return
            raw = rec.block(seq, type_, b)
            room -= len(raw) if raw is not None else 0
            if room <= 0:
                break
        self.warmed += 1

    # --- control -------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is pending or being read (tests); False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = end - time.monotonic()
                if left <= 0 or self._closed:
                    return not (self._pending is not None or self._busy)
                self._cond.wait(left)
        return True

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker (a read under way finishes first) and read ahead no more."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        if self.history.on_read == self.note:
            self.history.on_read = None
        if self._thread is not None:
            self._thread.join(timeout)
