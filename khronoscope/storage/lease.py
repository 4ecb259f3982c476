"""One writer per recording: a lease in the store itself, so it works on S3 and in a directory.

S3 has no compare-and-swap we can rely on: Ceph RGW 16 answers every `If-Match` with a quoted
ETag with 412, and GCS ignores preconditions on PUT. What every store we support does honour is
`If-None-Match: *`, a create that fails if the name exists. So the lease never updates an
object; every change of holder is the *creation* of a new, numbered object:

- `lease/000000000007`: generation 7, created with `put_if_absent`; it names its holder (host,
  pid, a random token). The newest generation is the lease. Two contenders for generation 8:
  the store lets exactly one create it.
- `lease/000000000007.alive`: only the holder of generation 7 writes it, every `renew_every`
  seconds (a plain PUT; no one else ever writes that name). Its store-side mtime is the last
  sign of life.
- A release creates the next generation marked `released`, so the next recorder starts at once.

Staleness is judged on the store's clock, never the contender's: the contender writes a probe
object and compares its mtime with the holder's last sign of life. A lease not renewed for `ttl`
seconds may be taken over, and then the new holder waits another `ttl` before it writes: by
then the old holder has either renewed (a renewal lists the lease objects after its PUT, sees
the newer generation and stops) or gone `ttl` without a successful renewal, after which it
stops writing on its own (it only writes while `valid()`). A recorder restarted on the same
host (a container restarted in its pod, a laptop after kill -9) whose predecessor's process is
gone takes over at once.

The generation is a fencing token: objects a writer creates can carry it, so a reader can tell
two writers' objects apart even if the timing argument above were ever broken.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from khronoscope.core.timefmt import format_iso
from khronoscope.storage import BlobStore, Capability, StoreError

PREFIX = "lease/"
_GEN = re.compile(r"^lease/(\d{12})$")
_ALIVE = ".alive"
DEFAULT_TTL = 20.0
DEFAULT_RENEW_EVERY = 5.0
# generations kept behind the current one (a little history for `ls` and for debugging)
_KEEP = 3


class LeaseHeld(StoreError):
    """Another recorder holds the lease on this prefix."""


class LeaseLost(StoreError):
    """This recorder's lease was taken over: it must stop writing."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a generation."""

    host: str
    pid: int
    token: str
    started_ns: int

    def describe(self) -> str:
        """`host H (pid P) since T`"""
        return f"host {self.host} (pid {self.pid}) since {format_iso(self.started_ns)}"


@dataclass(frozen=True)
class LeaseState:
    """The newest generation as read from the store."""

    generation: int
    holder: Holder | None
    released: bool
    ttl: float
    last_alive_ns: int  # store clock: mtime of the generation or of its `.alive`, the later

    def age_s(self, now_ns: int) -> float:
        """Seconds since the last sign of life, on the store's clock."""
        return max(0.0, (now_ns - self.last_alive_ns) / 1e9)


def _name(generation: int) -> str:
    return f"{PREFIX}{generation:012d}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(store: BlobStore) -> LeaseState | None:
    """The newest generation and its last sign of life, or None if the prefix never had a
    writer (one LIST and one GET)."""
    gens: dict[int, int] = {}
    alive: dict[int, int] = {}
    for info in store.list(PREFIX):
        m = _GEN.match(info.name)
        if m:
            gens[int(m.group(1))] = info.mtime_ns
        elif info.name.endswith(_ALIVE) and (m := _GEN.match(info.name[: -len(_ALIVE)])):
            alive[int(m.group(1))] = info.mtime_ns
    if not gens:
        return None
    gen = max(gens)
    try:
        record = json.loads(store.get(_name(gen)))
    except (json.JSONDecodeError, UnicodeDecodeError, FileNotFoundError):
        record = {}
    holder = None
    h = record.get("holder")
    if isinstance(h, dict):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            holder = Holder(str(h["host"]), int(h["pid"]), str(h["token"]), int(h["started_ns"]))
    return LeaseState(
        generation=gen,
        holder=holder,
        released=bool(record.get("released")),
        ttl=float(record.get("ttl", DEFAULT_TTL)),
        last_alive_ns=max(gens[gen], alive.get(gen, 0)),
    )


class Lease:
    """This process's claim on a prefix: `acquire()`, then `renew()` every `renew_every`
    seconds, write only while `valid()`, `release()` at the end."""

    def __init__(
        self,
        store: BlobStore,
        ttl: float = DEFAULT_TTL,
        renew_every: float = DEFAULT_RENEW_EVERY,
        *,
        host: str | None = None,
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pid_alive: Callable[[int], bool] = _pid_alive,
    ) -> None:
        if Capability.CONDITIONAL_CREATE not in store.capabilities:
            raise StoreError(
                f"{store.url}: this store cannot create an object only if it is absent, so two "
                "recorders could write the same prefix (set KHRONOSCOPE_S3_CONDITIONAL_CREATE=1 "
                "if the server honours If-None-Match)"
            )
        if not 0 < renew_every < ttl / 2:
            raise ValueError("renew_every must be under half the ttl")
        self.store = store
        self.ttl = ttl
        self.renew_every = renew_every
        self.holder = Holder(
            host or socket.gethostname(),
            os.getpid() if pid is None else pid,
            secrets.token_hex(8),
            time.time_ns(),
        )
        self.generation = 0
        self._clock = clock
        self._sleep = sleep
        self._pid_alive = pid_alive
        self._valid_until = float("-inf")

    # --- state ---------------------------------------------------------------------------------

    def valid(self) -> bool:
        """True while this process may write (held, and renewed within the last ttl)."""
        return self.generation > 0 and self._clock() < self._valid_until

    def _store_now_ns(self) -> int:
        """The store's clock: the mtime of a probe object written now."""
        probe = f"{PREFIX}clock-{self.holder.token}"
        self.store.put(probe, b"")
        try:
            info = self.store.stat(probe)
        finally:
            self.store.delete(probe)
        if info is None:
            raise StoreError(f"{self.store.url}: a probe object vanished right after its write")
        return info.mtime_ns

    def _ours_before(self, holder: Holder | None) -> bool:
        """The holder is a previous run on this host whose process is gone (or is us: pid 1 of
        a restarted container)."""
        if holder is None or holder.host != self.holder.host:
            return False
        return holder.pid == self.holder.pid or not self._pid_alive(holder.pid)

    # --- acquire / renew / release -------------------------------------------------------------

    def acquire(self, progress: Callable[[str], None] | None = None) -> None:
        """Become the writer, or raise LeaseHeld with one line saying who is."""
        for _ in range(5):
            state = read_state(self.store)
            wait = False
            if state is None or state.released or self._ours_before(state.holder):
                gen = 1 if state is None else state.generation + 1
            else:
                now = self._store_now_ns()
                age = state.age_s(now)
                if age <= max(state.ttl, self.ttl):
                    who = state.holder.describe() if state.holder else "another recorder"
                    raise LeaseHeld(
                        f"{self.store.url} is already being recorded by {who}; its lease was "
                        f"renewed {age:.0f}s ago (one recorder per prefix: it frees when that "
                        f"recorder stops, or {max(state.ttl, self.ttl):.0f}s after it dies)"
                    )
                gen = state.generation + 1
                wait = True
                if progress is not None:
                    who = state.holder.describe() if state.holder else "a recorder"
                    progress(
                        f"taking over the lease of {who}: not renewed for {age:.0f}s; waiting "
                        f"{self.ttl:.0f}s so that it cannot still be writing"
                    )
            started = self._clock()
            record = {"holder": self.holder.__dict__, "ttl": self.ttl, "released": False}
            if not self.store.put_if_absent(_name(gen), json.dumps(record).encode()):
                continue  # another recorder created it first: look again
            # a server that ignores If-None-Match lets both creates succeed: read back who won
            try:
                won = json.loads(self.store.get(_name(gen)))["holder"]["token"] == self.holder.token
            except (KeyError, TypeError, ValueError, FileNotFoundError):
                won = False
            if not won:
                continue
            self.generation = gen
            self._valid_until = started + self.ttl * 0.75
            if wait:
                self._wait_out(started)
            self._cleanup()
            return
        raise LeaseHeld(f"{self.store.url}: other recorders keep taking the lease; try again")

    def _wait_out(self, since: float) -> None:
        """Renew through one ttl after a takeover, so a predecessor that is still running sees
        the new generation at its next renewal (and stops) or lets its own lease lapse."""
        deadline = since + self.ttl
        while (left := deadline - self._clock()) > 0:
            self._sleep(min(left, self.renew_every))
            self.renew()

    def renew(self) -> None:
        """Write this generation's sign of life, then check nobody took over (LeaseLost).

        A renewal only extends the lease while it is still valid: one that lapsed (the store
        was down longer than the ttl) must be acquired again.
        """
        if self.generation == 0:
            raise StoreError("renew() before acquire()")
        if not self.valid():
            self._reacquire()
            return
        started = self._clock()
        self.store.put(self._alive_name(), json.dumps({"token": self.holder.token}).encode())
        self._check_newest()
        self._valid_until = started + self.ttl * 0.75

    def _reacquire(self) -> None:
        """After a lapse: if the newest generation is still ours, continue under a new one (so a
        contender that judged us stale meanwhile loses the create); else LeaseLost."""
        state = read_state(self.store)
        if state is None or state.generation != self.generation:
            self.generation_lost(state)
        started = self._clock()
        record = {"holder": self.holder.__dict__, "ttl": self.ttl, "released": False}
        gen = self.generation + 1
        if not self.store.put_if_absent(_name(gen), json.dumps(record).encode()):
            self.generation_lost(read_state(self.store))
        self.generation = gen
        # a contender that judged us stale waits a ttl before it writes, and our next renewal
        # (within renew_every) lists the lease objects: whoever lost the create stops
        self._valid_until = started + self.ttl * 0.75

    def generation_lost(self, state: LeaseState | None) -> None:
        """Raise LeaseLost naming the new holder."""
        lost = self.generation
        self.generation = 0
        self._valid_until = float("-inf")
        who = "another recorder"
        if state is not None and state.holder is not None:
            who = state.holder.describe()
        raise LeaseLost(
            f"{self.store.url}: the lease (generation {lost}) was taken over by {who}; "
            "this recorder stops writing"
        )

    def _check_newest(self) -> None:
        for info in self.store.list(PREFIX):
            m = _GEN.match(info.name)
            if m and int(m.group(1)) > self.generation:
                self.generation_lost(read_state(self.store))

    def _alive_name(self) -> str:
        return _name(self.generation) + _ALIVE

    def release(self) -> None:
        """Hand the prefix back at once (a clean stop): the next generation, marked released."""
        if self.generation == 0:
            return
        gen, self.generation = self.generation, 0
        self._valid_until = float("-inf")
        record = {"holder": self.holder.__dict__, "ttl": self.ttl, "released": True}
        # if a contender took the next generation meanwhile, it is theirs: nothing to release
        self.store.put_if_absent(_name(gen + 1), json.dumps(record).encode())

    def _cleanup(self) -> None:
        """Delete generations older than the last few (and their signs of life)."""
        for info in list(self.store.list(PREFIX)):
            m = _GEN.match(info.name.removesuffix(_ALIVE))
            if m and int(m.group(1)) < self.generation - _KEEP:
                with contextlib.suppress(StoreError):
                    self.store.delete(info.name)
