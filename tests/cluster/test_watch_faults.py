"""The watchers against the simulated cluster with faults injected: whatever happens, the stored
state ends equal to the server's and no change made while connected is missing."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
import yaml

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.source import TypeState
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.errors import KhronoscopeError
from tests.cluster.sessionkit import (
    FAST,
    FUTURE,
    assert_matches_server,
    configmap,
    eventually,
    server_state,
    start_session,
    stored,
)

CRD_TYPE = "customresourcedefinitions.apiextensions.k8s.io"


def _kinds(session: ClusterSession, key: ObjectKey) -> list[ChangeKind]:
    return [kind for _, kind in session.tmap.history(key)]


def _values(session: ClusterSession, key: ObjectKey, field: str) -> list[str]:
    out = []
    for t, kind in session.tmap.history(key):
        if kind is not ChangeKind.DELETED:
            out.append(session.tmap.get(key, t)["data"][field])
    return out


async def test_sync_mirrors_every_type_of_the_server(sim):
    session = await start_session(sim.kubeconfig_path)
    try:
        status = session.type_status()
        assert status and all(s.state is TypeState.LIVE for s in status.values())
        assert "events" in status and "events.events.k8s.io" not in status
        assert {"pods", "nodes", "namespaces", "configmaps"} <= set(status)
        assert status["namespaces"].objects == 3
        await assert_matches_server(session, sim)
        assert session.gaps() == []
    finally:
        await session.close()


async def test_dropped_watches_resume_without_losing_a_change(sim):
    session = await start_session(sim.kubeconfig_path, include=("configmaps",))
    try:
        (watcher,) = session.watchers("configmaps")
        sim.store.create("configmaps", configmap("counter", n="0"))
        for i in range(1, 11):
            await eventually(lambda: watcher.watches >= 1, "a watch is open")
            sim.faults.drop_watches()  # the TCP connection is cut
            sim.store.patch("configmaps", "demo", "counter", {"data": {"n": str(i)}})
        key = ObjectKey("configmaps", "demo", "counter")
        await eventually(lambda: _values(session, key, "n")[-1:] == ["10"], "the last change")
        assert _values(session, key, "n") == [str(i) for i in range(11)]
        assert watcher.lists == 1  # every resume came from the last resourceVersion
        await assert_matches_server(session, sim)
        assert session.gaps() and all("resumed" in g.reason for g in session.gaps())
    finally:
        await session.close()


async def test_a_clean_close_rewatches_at_once_without_a_gap(sim):
    session = await start_session(sim.kubeconfig_path, include=("configmaps",))
    try:
        (watcher,) = session.watchers("configmaps")
        for i in range(5):
            await eventually(lambda i=i: watcher.watches > i, "the watch is (re)opened")
            sim.faults.drop_watches(graceful=True)  # the server ends the watch (its timeout)
            sim.store.create("configmaps", configmap(f"cm-{i}"))
        await assert_matches_server(session, sim)
        assert watcher.lists == 1 and watcher.watches >= 5
        assert session.gaps() == []
        assert session.type_status()["configmaps"].state is TypeState.LIVE
    finally:
        await session.close()


async def test_410_after_compaction_relists_and_reconciles(sim):
    for name in ("stays", "modified", "deleted"):
        sim.store.create("configmaps", configmap(name, v="0"))
    # a watch opened at the very moment the server stops may be left open and silent (a
    # half-open connection): the read timeout is what notices it
    tuning = dataclasses.replace(FAST, read_timeout=2.0)
    session = await start_session(sim.kubeconfig_path, tuning, include=("configmaps", "pods"))
    try:
        (watcher,) = session.watchers("configmaps")
        await sim.stop()  # the server goes away...
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.RETRYING,
            "the outage is visible",
        )
        sim.store.patch("configmaps", "demo", "modified", {"data": {"v": "1"}})
        sim.store.delete("configmaps", "demo", "deleted")
        sim.store.create("configmaps", configmap("added", v="0"))
        sim.store.patch("configmaps", "demo", "added", {"data": {"v": "2"}})  # coalesced
        sim.faults.compact()  # ...and forgets the history the watcher would resume from
        await sim.start()

        await assert_matches_server(session, sim)
        assert watcher.lists == 2
        gap = next(g for g in session.gaps() if g.type == "configmaps")
        assert "410" in gap.reason and "1 added, 1 modified, 1 deleted" in gap.reason
        assert _kinds(session, ObjectKey("configmaps", "demo", "deleted"))[-1] is ChangeKind.DELETED
        assert _kinds(session, ObjectKey("configmaps", "demo", "added")) == [ChangeKind.ADDED]
        assert _values(session, ObjectKey("configmaps", "demo", "added"), "v") == ["2"]
        modified = ObjectKey("configmaps", "demo", "modified")
        assert _kinds(session, modified) == [ChangeKind.ADDED, ChangeKind.MODIFIED]
        assert _kinds(session, ObjectKey("configmaps", "demo", "stays")) == [ChangeKind.ADDED]
        for t, _ in session.tmap.history(modified)[1:]:
            assert gap.start <= t <= gap.end  # missed changes sit inside the gap
        await eventually(
            lambda: all(s.state is TypeState.LIVE for s in session.type_status().values()),
            "every type is live again",
        )
        await assert_matches_server(session, sim)
    finally:
        await session.close()


async def test_server_errors_are_retried_with_backoff_and_shown(sim):
    session = await start_session(sim.kubeconfig_path, include=("configmaps", "nodes"))
    errors: list[str] = []
    session.add_listener(lambda: errors.append(session.type_status()["configmaps"].error))
    try:
        (watcher,) = session.watchers("configmaps")
        await eventually(lambda: watcher.watches >= 1, "a watch is open")
        sim.faults.fail_next(6, 500, match="configmaps")
        sim.faults.drop_watches()
        sim.store.create("configmaps", configmap("during"))
        await assert_matches_server(session, sim)
        assert any("500" in e for e in errors)
        assert sim.faults.failed == 6
        assert session.type_status()["configmaps"].state is TypeState.LIVE
        assert session.type_status()["nodes"].state is TypeState.LIVE
        assert ObjectKey("configmaps", "demo", "during") in session.tmap
    finally:
        await session.close()


async def test_a_throttling_server_is_given_the_wait_it_asks_for(sim):
    # kube-apiserver answers an overload with 429 and Retry-After; retrying sooner (our own
    # backoff here is at most 0.2 s) would add to the overload
    session = await start_session(sim.kubeconfig_path, include=("configmaps",))
    errors: list[str] = []
    session.add_listener(lambda: errors.append(session.type_status()["configmaps"].error))
    try:
        (watcher,) = session.watchers("configmaps")
        await eventually(lambda: watcher.watches >= 1, "a watch is open")
        sim.faults.retry_after = 1
        sim.faults.fail_next(2, 429, match="configmaps")
        started = time.monotonic()
        sim.faults.drop_watches()
        await eventually(lambda: sim.faults.failed == 2, "both 429s were served")
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.LIVE, "live again"
        )
        sim.store.create("configmaps", configmap("after-throttle"))
        await assert_matches_server(session, sim)
        # two throttled answers, each asking for 1 s: the second request waited after the
        # first, and the third (the one that succeeded) after the second
        assert time.monotonic() - started >= 2.0
        assert any("429" in e for e in errors), "the throttling was shown"
    finally:
        await session.close()


async def test_a_slow_server_is_waited_for_and_a_stalled_one_retried(sim):
    sim.faults.delay(0.3, match="configmaps")
    session = await start_session(sim.kubeconfig_path, include=("configmaps",))
    try:
        assert session.type_status()["configmaps"].state is TypeState.LIVE  # slow but fine
    finally:
        await session.close()
    # slower than the client accepts: retried, shown, and fine once the server is back
    sim.faults.delay(3.0, match="configmaps")
    tuning = dataclasses.replace(FAST, request_timeout=1.0, read_timeout=1.0)
    options = ClusterOptions(kubeconfig=str(sim.kubeconfig_path), include=("configmaps", "nodes"))
    session = ClusterSession(options, tuning=tuning)
    await session.start()
    try:
        await eventually(
            lambda: session.type_status()["configmaps"].state is TypeState.RETRYING,
            "the timeout is shown",
        )
        assert "timed out" in session.type_status()["configmaps"].error
        await eventually(
            lambda: session.type_status()["nodes"].state is TypeState.LIVE, "the others go on"
        )
        sim.faults.clear()
        await session.wait_synced(20)
        await assert_matches_server(session, sim)
    finally:
        await session.close()


async def test_forbidden_types_are_marked_and_the_others_go_on(sim):
    kubeconfig = sim.add_user("limited", forbidden={"secrets", "configmaps"})
    session = await start_session(kubeconfig)
    try:
        status = session.type_status()
        for name in ("secrets", "configmaps"):
            assert status[name].state is TypeState.FORBIDDEN
            assert "403" in status[name].error and 'User "limited"' in status[name].error
        others = {n: s for n, s in status.items() if n not in ("secrets", "configmaps")}
        assert others and all(s.state is TypeState.LIVE for s in others.values())
        for name in ("pods", "nodes", "namespaces"):
            assert stored(session, name) == server_state(sim, name)
        assert "configmaps" not in session.tmap.types()
    finally:
        await session.close()


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}
WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w1", "namespace": "demo"},
    "spec": {"size": 3},
}


async def test_a_crd_appearing_and_vanishing_at_runtime(sim):
    # only the CRD's own watch event can trigger the rescan: the periodic one is an hour away
    session = await start_session(sim.kubeconfig_path, rescan_interval=3600)
    key = ObjectKey("widgets.example.com", "demo", "w1")
    try:
        assert "widgets.example.com" not in session.resource_types()
        sim.store.create(CRD_TYPE, CRD)
        await eventually(
            lambda: session.type_status().get("widgets.example.com"), "the new type is watched"
        )
        sim.store.create("widgets.example.com", WIDGET)
        await eventually(lambda: key in session.tmap, "the custom resource is stored")
        assert session.tmap.get(key, FUTURE)["spec"] == {"size": 3}

        sim.store.delete(CRD_TYPE, "", "widgets.example.com")
        # discovery confirms it: the type is retired and its objects are gone with it
        await eventually(
            lambda: "no longer served" in session.type_status()["widgets.example.com"].error,
            "the type is retired",
        )
        assert session.type_status()["widgets.example.com"].state is TypeState.GONE
        assert _kinds(session, key)[-1] is ChangeKind.DELETED
        others = [s for n, s in session.type_status().items() if n != "widgets.example.com"]
        assert all(s.state is TypeState.LIVE for s in others)

        sim.store.create(CRD_TYPE, CRD)  # and back again
        await eventually(
            lambda: session.type_status()["widgets.example.com"].state is TypeState.LIVE,
            "watched again",
        )
        sim.store.create("widgets.example.com", WIDGET)
        await eventually(lambda: len(session.tmap.history(key)) == 3, "the widget is back")
        await assert_matches_server(session, sim)
    finally:
        await session.close()


async def test_rotated_credentials_are_reread_after_a_401(sim, tmp_path):
    # a kubeconfig whose token lives in a file (as a credential helper would keep it)
    doc = yaml.safe_load(sim.add_user("robot").read_text())
    token_file = tmp_path / "token"
    token_file.write_text(doc["users"][0]["user"].pop("token"))
    doc["users"][0]["user"]["tokenFile"] = str(token_file)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    session = await start_session(kubeconfig, include=("configmaps",))
    try:
        (watcher,) = session.watchers("configmaps")
        # the server revokes the token; the new one is not in the file yet
        rotated = sim.add_user("robot")
        sim.faults.drop_watches()
        await eventually(
            lambda: "401" in session.type_status()["configmaps"].error, "the 401 is shown"
        )
        assert session.type_status()["configmaps"].state is TypeState.RETRYING
        # the credential helper writes the new token: the next retry rereads it
        new_doc = yaml.safe_load(rotated.read_text())
        token_file.write_text(new_doc["users"][0]["user"]["token"])
        sim.store.create("configmaps", configmap("after-rotation"))
        await eventually(
            lambda: ObjectKey("configmaps", "demo", "after-rotation") in session.tmap,
            "watching resumes with the new token",
        )
        assert session.type_status()["configmaps"].state is TypeState.LIVE
        assert watcher.lists == 1
    finally:
        await session.close()


async def test_watches_never_starve_requests_of_connections(sim):
    # one pooled connection for requests; every type holds a watch connection meanwhile
    tuning = dataclasses.replace(FAST, request_pool=1)
    session = await start_session(sim.kubeconfig_path, tuning, rescan_interval=3600)
    try:
        assert len(session.watchers()) > 20
        await eventually(
            lambda: all(w.watches >= 1 for w in session.watchers()), "every watch is open"
        )
        sim.store.create(CRD_TYPE, CRD)  # a new type must still get its list through
        await eventually(
            lambda: (
                session.type_status().get("widgets.example.com")
                and session.type_status()["widgets.example.com"].state is TypeState.LIVE
            ),
            "the new type is listed while every other type is watching",
        )
    finally:
        await session.close()


async def test_bookmarks_keep_a_quiet_watch_current(sim):
    # the fixture's server sends a bookmark every 0.2 s
    session = await start_session(sim.kubeconfig_path, include=("nodes", "configmaps"))
    try:
        (nodes,) = session.watchers("nodes")
        node_rv = max(int(rv) for rv in stored(session, "nodes").values())
        for i in range(5):
            sim.store.create("configmaps", configmap(f"cm-{i}"))
        last = int(sim.store.rv)
        await eventually(lambda: int(nodes.rv) >= last, "a bookmark moves the quiet watch on")
        assert int(nodes.rv) > node_rv
        assert session.type_status()["nodes"].changes == 1  # bookmarks are not changes
    finally:
        await session.close()


async def test_bad_input_is_one_clear_line_and_leaves_nothing_open(sim, tmp_path):
    doc = yaml.safe_load(sim.kubeconfig_path.read_text())
    doc["users"][0]["user"]["token"] = "expired"
    expired = tmp_path / "expired"
    expired.write_text(yaml.safe_dump(doc))
    good = str(sim.kubeconfig_path)
    cases = [
        (ClusterOptions(kubeconfig=str(expired)), "rejected the credentials (401"),
        (ClusterOptions(kubeconfig=good, include=("pods", "gizmos")), "unknown resource type"),
        (ClusterOptions(kubeconfig=good, exclude=("po", "nope")), "unknown resource type 'nope'"),
        (ClusterOptions(kubeconfig=good, context="prod"), "context 'prod' not found"),
    ]
    for options, message in cases:
        session = ClusterSession(options, tuning=FAST)
        with pytest.raises(KhronoscopeError, match=re.escape(message)) as info:
            await session.start()
        assert "\n" not in str(info.value)
        assert session.conn is None and not session.watchers()
    await sim.stop()  # unreachable
    session = ClusterSession(ClusterOptions(kubeconfig=good), tuning=FAST)
    with pytest.raises(KhronoscopeError, match="cannot reach the API server") as info:
        await session.start()
    assert "connection refused" in str(info.value)
    await sim.start()
