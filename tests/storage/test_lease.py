"""One writer per prefix: the lease refuses a second recorder, survives restarts on the same
host, is taken over only when stale, and a taken-over holder learns it must stop."""

from __future__ import annotations

import re
import threading
import time

import pytest

from khronoscope.storage import Capability, StoreError
from khronoscope.storage.lease import Lease, LeaseHeld, LeaseLost, read_state
from khronoscope.storage.local import LocalStore

TTL = 0.6
RENEW = 0.15


def _lease(store, host="node-a", pid=100, alive=True, ttl=TTL, **kw) -> Lease:
    return Lease(store, ttl, ttl / 4, host=host, pid=pid, pid_alive=lambda _pid: alive, **kw)


# where a test asserts that something did NOT wait for a ttl, a long one: a loaded machine
# must not make it pass or fail by chance
LONG = 10.0


def test_a_second_recorder_on_the_same_prefix_refuses_with_one_line(tmp_path):
    store = LocalStore(tmp_path)
    first = _lease(store, ttl=LONG)
    first.acquire()
    assert first.valid() and first.generation == 1
    with pytest.raises(LeaseHeld) as err:
        _lease(store, host="laptop", pid=7, ttl=LONG).acquire()
    msg = str(err.value)
    assert "\n" not in msg
    assert "already being recorded by host node-a (pid 100)" in msg
    assert re.search(r"its lease was renewed \d+s ago", msg)
    # the same host with the first recorder's process still running: refused too
    with pytest.raises(LeaseHeld):
        _lease(store, pid=101, alive=True, ttl=LONG).acquire()
    assert first.valid()


def test_a_clean_stop_frees_the_prefix_at_once(tmp_path):
    store = LocalStore(tmp_path)
    first = _lease(store, ttl=LONG)
    first.acquire()
    first.release()
    assert not first.valid()
    second = _lease(store, host="laptop", pid=7, ttl=LONG)
    t0 = time.monotonic()
    second.acquire()
    assert time.monotonic() - t0 < LONG / 2  # no waiting for a released lease
    assert second.generation == 3  # 1 held, 2 released, 3 held


def test_a_restart_on_the_same_host_takes_over_at_once(tmp_path):
    store = LocalStore(tmp_path)
    _lease(store, pid=100, ttl=LONG).acquire()  # then killed -9: never released
    t0 = time.monotonic()
    restarted = _lease(store, pid=200, alive=False, ttl=LONG)  # pid 100 is gone
    restarted.acquire()
    assert time.monotonic() - t0 < LONG / 2
    assert restarted.generation == 2
    # a restarted container is pid 1 again, in a pod of the same name
    again = _lease(store, pid=200, alive=True, ttl=LONG)
    again.acquire()
    assert again.generation == 3


def test_a_stale_lease_is_taken_over_and_its_holder_learns_it_lost(tmp_path):
    store = LocalStore(tmp_path)
    old = _lease(store)
    old.acquire()
    time.sleep(TTL + 0.2)  # old stops renewing (a hung process, a lost node)
    said: list[str] = []
    new = _lease(store, host="node-b", pid=5)
    t0 = time.monotonic()
    new.acquire(progress=said.append)
    # the new holder waited a ttl before it may write, so the old one cannot still be writing
    assert time.monotonic() - t0 >= TTL
    assert new.valid() and new.generation == 2
    assert len(said) == 1 and "taking over the lease of host node-a (pid 100)" in said[0]
    assert not old.valid()
    with pytest.raises(LeaseLost) as err:
        old.renew()
    assert "taken over by host node-b (pid 5)" in str(err.value)
    assert not old.valid()


def test_a_holder_that_renews_sees_a_takeover_at_its_next_renewal(tmp_path):
    store = LocalStore(tmp_path)
    old = _lease(store)
    old.acquire()
    # a contender that judged the lease stale just before old's renewal landed
    store.put_if_absent(
        "lease/000000000002",
        b'{"holder": {"host": "node-b", "pid": 5, "token": "t", "started_ns": 1}, "ttl": 0.6}',
    )
    with pytest.raises(LeaseLost):
        old.renew()
    assert not old.valid()


def test_a_lapsed_lease_nobody_took_is_continued(tmp_path):
    store = LocalStore(tmp_path)
    lease = _lease(store)
    lease.acquire()
    time.sleep(TTL)  # the store was down: no renewal for a ttl
    assert not lease.valid()
    lease.renew()
    assert lease.valid() and lease.generation == 2


def test_renewals_keep_a_lease_and_only_one_of_racing_contenders_wins(tmp_path):
    store = LocalStore(tmp_path)
    holder = _lease(store)
    holder.acquire()
    for _ in range(6):  # renewed for longer than a ttl: still held
        time.sleep(RENEW)
        holder.renew()
    with pytest.raises(LeaseHeld):
        _lease(store, host="x", pid=1, ttl=LONG).acquire()
    holder.release()
    time.sleep(0.05)
    results: list[object] = []

    def contend(i: int) -> None:
        try:
            lease = _lease(store, host=f"c{i}", pid=i, ttl=LONG)
            lease.acquire()
            results.append(lease)
        except LeaseHeld as err:
            results.append(err)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, Lease)]
    assert len(winners) == 1
    assert read_state(store).holder == winners[0].holder


def test_old_generations_are_cleaned_up(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(10):
        lease = _lease(store, pid=i, alive=False)
        lease.acquire()
        lease.renew()
    names = [b.name for b in store.list("lease/")]
    assert len([n for n in names if not n.endswith(".alive")]) <= 4
    assert "lease/000000000010" in names


def test_a_store_that_cannot_create_conditionally_is_refused(tmp_path):
    class Racy(LocalStore):
        capabilities = Capability.LOCAL

    with pytest.raises(StoreError, match="cannot create an object only if it is absent"):
        _lease(Racy(tmp_path))
