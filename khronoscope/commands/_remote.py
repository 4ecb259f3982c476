"""`record -o s3://BUCKET/PREFIX`: a recorder writing to object storage.

Order matters: the prefix's lease is taken before anything is written (a second recorder
refuses with one line); then what a previous run on this machine left is picked up (its
sealed segments still waiting in the upload spool, its open segment's spool, sealed now), and
the recording goes on where it stopped, with a gap marked over the time nobody recorded.
Sealed segments go to the store through the Uploader (a bounded local spool, retries with
backoff), so an outage only grows the backlog the status line and /metrics show. The open
segment is spooled on local disk, under the XDG state dir, so a restart loses at most the last
second. The lease is renewed in a thread; uploads pause while it is not held.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from khronoscope.core.source import Gap, SourceInfo, TypeState
from khronoscope.core.timefmt import format_iso, now_ns
from khronoscope.core.types import ObjectKey
from khronoscope.errors import KhronoscopeError
from khronoscope.recording import format as fmt
from khronoscope.recording.segments import layout
from khronoscope.recording.segments.catalog import read_header
from khronoscope.recording.segments.resume import Resumed, resume
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.storage import StoreError
from khronoscope.storage.cache import BlockCache
from khronoscope.storage.lease import PREFIX as LEASE_PREFIX
from khronoscope.storage.lease import Lease, LeaseLost
from khronoscope.storage.spooled import SpooledStore
from khronoscope.storage.uploader import Backoff, Uploader

# the recorder's on-disk cache of what it wrote (read back when a base carries old versions)
RECORDER_CACHE_BYTES = 512 << 20
DEFAULT_SPOOL_BYTES = 1 << 30
# a laptop following the recording sees a segment once it is sealed: seal at least this often
REMOTE_SEAL_AFTER = 60.0
GAP_REASON = "recorder not running"


def immutable(name: str) -> bool:
    """Objects written once and never changed (cached on disk); the lease is not one."""
    return not name.startswith(LEASE_PREFIX)


def local_dir(identity: str) -> Path:
    """This machine's spools for one prefix: `$XDG_STATE_HOME/khronoscope/recorders/HASH`."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return Path(platformdirs.user_state_dir("khronoscope")) / "recorders" / digest


@dataclass
class RemoteOptions:
    """Settings of a recorder writing to object storage."""

    spool_bytes: int = DEFAULT_SPOOL_BYTES
    lease_ttl: float | None = None
    backoff: Backoff = field(default_factory=Backoff)


class RemoteRecording:
    """The lease, the upload spool and the writer of one `record -o s3://...`."""

    def __init__(
        self, url: str, say: Callable[[str], None], options: RemoteOptions | None = None
    ) -> None:
        from khronoscope.storage.s3 import S3Store

        self.options = options or RemoteOptions()
        self.say = say
        self.remote = S3Store(url)
        self.url = self.remote.url
        self.writer: SegmentedWriter | None = None
        self.resumed: Resumed | None = None
        self.lost: str | None = None  # why the lease was lost (the recording stops)
        self.on_segment: Callable[[int], None] | None = None
        self.on_uploaded: Callable[[str, int], None] | None = None
        self.on_error: Callable[[str], None] | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._pending_deletes: dict[str, set[ObjectKey]] = {}
        kwargs: dict[str, Any] = {}
        if self.options.lease_ttl is not None:
            kwargs = {"ttl": self.options.lease_ttl, "renew_every": self.options.lease_ttl / 4}
        self.lease = Lease(self.remote, **kwargs)
        self.uploader: Uploader | None = None
        self.store: SpooledStore | None = None

    # --- start ---------------------------------------------------------------------------------

    def start(
        self,
        info: SourceInfo,
        secrets: str,
        header_options: dict[str, Any],
        writer_options: SegmentOptions,
    ) -> SegmentedWriter:
        """Take the lease, pick up what a previous run left, and open the writer."""
        self.lease.acquire(progress=self.say)  # LeaseHeld: one line, nothing written
        try:
            return self._open(info, secrets, header_options, writer_options)
        except BaseException:
            self._abort()
            raise

    def _open(
        self,
        info: SourceInfo,
        secrets: str,
        header_options: dict[str, Any],
        writer_options: SegmentOptions,
    ) -> SegmentedWriter:
        where = local_dir(self.remote.identity)
        wal_dir, spool_dir, staging = where / "wal", where / "upload", where / "staging"
        shutil.rmtree(staging, ignore_errors=True)  # half-staged files of a killed run
        for d in (where, wal_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        cache = BlockCache(max_bytes=RECORDER_CACHE_BYTES)
        self.store = SpooledStore(
            self.remote,
            cache,
            immutable,
            self.remote.identity,
            staging,
            skip=lambda n: n.startswith(LEASE_PREFIX),
        )
        self.uploader = Uploader(
            self.remote,
            spool_dir,
            self.options.spool_bytes,
            may_write=self.lease.valid,
            on_drop=self._dropped,
            on_uploaded=self._uploaded,
            backoff=self.options.backoff,
        )
        self._drop_stale(self.uploader)
        self.store.attach(self.uploader)
        waiting = self.uploader.stats()
        if waiting.backlog_objects:
            self.say(
                f"uploading {waiting.backlog_objects} objects a previous run sealed and did "
                "not upload"
            )
        self.uploader.start()
        publish = self._publish
        if self.store.stat(layout.HEADER) is None:
            for stale in wal_dir.glob("*" + layout.WAL_SUFFIX):
                stale.unlink()  # an open segment of a recording that no longer exists
            writer = SegmentedWriter.create(
                self.store,
                wal_dir,
                info,
                secrets=secrets,
                options=header_options,
                writer_options=writer_options,
                display=self.url,
                publish=publish,
            )
        else:
            header = read_header(self.store).map
            self._check_same(header, info, secrets)
            self.resumed = resume(self.store, wal_dir, publish, progress=self.say)
            writer = SegmentedWriter(
                self.store,
                wal_dir,
                header,
                writer_options,
                display=self.url,
                publish=publish,
                resume=self.resumed,
            )
            self._continue(writer, self.resumed)
        self.writer = writer
        self._renewer = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._renewer.start()
        return writer

    def _drop_stale(self, uploader: Uploader) -> None:
        """Segments a previous run on this machine left in the spool whose numbers another
        recorder has used since (it took the prefix over meanwhile) would collide: dropped."""
        assert self.store is not None
        taken = {}
        for b in self.store.list(layout.SEGMENTS):
            p = layout.parse_segment(b.name)
            if p is not None:
                taken[p.seq] = b.name
        stale = []
        for name, _size in uploader.pending_names():
            p = layout.parse_segment(name)
            if p is not None and taken.get(p.seq, name) != name:
                stale.append(name)
        for name in stale:
            uploader.cancel(name)
        if stale:
            self.say(
                f"khronoscope: warning: {len(stale)} segments a previous run left unuploaded "
                "were dropped: another recorder has written that part of the recording since"
            )

    def _check_same(self, header: dict[str, Any], info: SourceInfo, secrets: str) -> None:
        """Refuse to go on with another cluster's recording, or to mix Secret handling."""
        was = str(header.get("cluster") or "")
        if was and info.cluster and was != info.cluster:
            raise KhronoscopeError(
                f"{self.url} holds a recording of cluster {was}, not {info.cluster}: "
                "record each cluster to its own prefix"
            )
        kept = header.get("secrets", fmt.SECRETS_REDACTED)
        if kept != secrets:
            raise KhronoscopeError(
                f"{self.url} was recorded with Secret values {kept}; this recorder would keep "
                f"them {secrets}: use the same --keep-secret-values setting, or another prefix"
            )

    def _continue(self, writer: SegmentedWriter, resumed: Resumed) -> None:
        """Say what was picked up; mark the time nobody recorded as a gap for every type."""
        parts = [f"continuing {self.url}: {len(resumed.metas)} segments"]
        if resumed.last_t is not None:
            parts.append(f"last change {format_iso(resumed.last_t)}")
        if resumed.sealed_spools:
            parts.append(
                f"{resumed.recovered_changes:,} changes of the previous run's open segment "
                "sealed now"
            )
        self.say("; ".join(parts))
        if resumed.last_t is None:
            return
        now = now_ns()
        types = {k.type for k in resumed.current} | set(resumed.state.live)
        for type_ in sorted(types):
            writer.append_gap(Gap(resumed.last_t + 1, now, type_, GAP_REASON))
        for key in resumed.current:
            self._pending_deletes.setdefault(key.type, set()).add(key)

    def _publish(self, name: str, data: bytes) -> None:
        assert self.store is not None
        self.store.put(name, data)
        if name.startswith(layout.SEGMENTS) and self.on_segment is not None:
            self.on_segment(len(data))

    def _uploaded(self, name: str, size: int) -> None:
        if self.on_uploaded is not None:
            self.on_uploaded(name, size)

    def _dropped(self, name: str, size: int) -> None:
        assert self.store is not None
        self.store.forget(name)
        self.say(
            f"khronoscope: warning: upload spool full: {name} ({size:,} bytes) dropped; the "
            "recording loses that part"
        )
        if self.on_error is not None:
            self.on_error("upload")

    # --- while recording -----------------------------------------------------------------------

    def reconcile(self, session: Any) -> int:
        """Objects recorded alive before the restart that the relist no longer has were deleted
        while nobody recorded: record their deletion (once their type is listed); returns how
        many were recorded."""
        if not self._pending_deletes or self.writer is None:
            return 0
        done = 0
        status = session.type_status()
        for type_ in list(self._pending_deletes):
            st = status.get(type_)
            if st is None:
                if session.synced:  # not watched any more: nothing to compare with
                    del self._pending_deletes[type_]
                continue
            if st.state is TypeState.SYNCING:
                continue
            keys = self._pending_deletes.pop(type_)
            if st.state is not TypeState.LIVE:
                continue  # forbidden or gone now: its objects are unknown, not deleted
            alive = set(session.tmap.keys_at(2**62, type=type_))
            t = now_ns()
            for key in sorted(keys - alive):
                with contextlib.suppress(KhronoscopeError):
                    self.writer.append_raw(key, t, None)
                    done += 1
        return done

    def _renew_loop(self) -> None:
        every = self.lease.renew_every
        while not self._stop.wait(every):
            try:
                self.lease.renew()
            except LeaseLost as err:
                self.lost = str(err)
                if self.on_error is not None:
                    self.on_error("lease")
                return
            except StoreError:
                if self.on_error is not None:
                    self.on_error("lease")
                continue  # an outage: uploads pause once the lease lapses; renewed after
            if self.uploader is not None:
                self.uploader.wake()

    def status(self) -> str:
        """The upload backlog for the status line ('' when nothing waits)."""
        if self.uploader is None:
            return ""
        text = self.uploader.stats().describe()
        if not self.lease.valid():
            text = (text + ", " if text else "") + "lease not renewed (store unreachable?)"
        return text

    # --- stop ----------------------------------------------------------------------------------

    def close(self, drain_timeout: float = 30.0) -> str:
        """After the writer closed: upload what is left (for up to `drain_timeout` s), release
        the lease; returns a line saying what is still waiting, if anything."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
        left = ""
        if self.uploader is not None and self.lost is not None:
            # another recorder owns the prefix now: what this one still holds would collide
            # with what it writes (the same segment numbers), so it is dropped, and said so
            waiting = self.uploader.pending_names()
            for name, _size in waiting:
                self.uploader.cancel(name)
            if waiting:
                left = f"{len(waiting)} objects not uploaded were dropped (the lease was lost)"
        if self.uploader is not None:
            stats = self.uploader.close(drain_timeout=drain_timeout if self.lost is None else 0)
            if stats.backlog_objects and self.lost is None:
                left = (
                    f"{stats.backlog_objects} objects ({stats.backlog_bytes:,} bytes) not "
                    f"uploaded yet stay in {self.uploader.spool_dir}: the next "
                    "`khronoscope record` of this prefix on this machine uploads them"
                )
        if self.store is not None:
            self.store.close(timeout=10.0 if self.lost is None else 0.0)
        if self.lost is None and not left:
            with contextlib.suppress(StoreError):
                self.lease.release()
        return left

    def _abort(self) -> None:
        self._stop.set()
        if self.uploader is not None:
            self.uploader.close()
        with contextlib.suppress(StoreError):
            self.lease.release()


def wait_drained(rr: RemoteRecording, timeout: float) -> bool:
    """Wait until the upload backlog is empty (tests and the benchmark)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rr.uploader is not None and rr.uploader.stats().backlog_objects == 0:
            return True
        time.sleep(0.1)
    return False
