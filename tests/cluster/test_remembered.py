"""What the cluster remembers, backfilled at the start of a session and recorded as such."""

from __future__ import annotations

import asyncio

import pytest

from khronoscope.cluster.options import ClusterOptions
from khronoscope.cluster.remembered import apply, remember
from khronoscope.cluster.session import ClusterSession
from khronoscope.core.provenance import (
    RECONSTRUCTED,
    RECONSTRUCTED_FIELD,
    ProvenanceStore,
    reconstructed_note,
)
from khronoscope.core.timefmt import NS, format_k8s_time, parse_k8s_time
from khronoscope.core.types import ObjectKey
from khronoscope.recording.opening import open_any
from khronoscope.recording.recorder import Recorder
from khronoscope.recording.segments.writer import SegmentedWriter, SegmentOptions
from khronoscope.recording.writer import RecordingWriter, WriterOptions
from khronoscope.temporal import TemporalMap
from tests.cluster.sessionkit import FAST, eventually

T = 1_800_000_000 * NS  # "now", when the session began
WEB = ObjectKey("deployments.apps", "shop", "web")


def ts(seconds_before: int) -> str:
    return format_k8s_time(T - seconds_before * NS)


def template(image: str, pod_hash: str | None = None) -> dict:
    labels = {"app": "web", **({"pod-template-hash": pod_hash} if pod_hash else {})}
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "m", "image": image}]}}


def rs(name: str, revision: int, image: str, created: int, history: str = "") -> dict:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if history:
        annotations["deployment.kubernetes.io/revision-history"] = history
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "creationTimestamp": ts(created),
            "annotations": annotations,
            "ownerReferences": [{"kind": "Deployment", "uid": "u-web", "controller": True}],
        },
        "spec": {"template": template(image, name[-5:])},
    }


def state() -> dict:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u-web",
            "creationTimestamp": ts(3600),
            "managedFields": [
                {
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "time": ts(3600),
                    "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}},
                },
                {
                    "manager": "kubectl-set",
                    "operation": "Update",
                    "time": ts(600),
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {}}}},
                },
            ],
        },
        "spec": {"replicas": 3, "template": template("web:2")},
        "status": {
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "lastTransitionTime": ts(500),
                },
                {"type": "Progressing", "status": "True", "lastTransitionTime": ts(10)},
            ]
        },
    }
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "shop", "uid": "u-agent"},
        "spec": {"template": template("agent:2")},
    }
    revisions = {
        ObjectKey("controllerrevisions.apps", "shop", f"agent-{i}"): {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": f"agent-{i}",
                "namespace": "shop",
                "creationTimestamp": ts(1000 - i * 100),
                "ownerReferences": [{"kind": "DaemonSet", "uid": "u-agent", "controller": True}],
            },
            "revision": i,
            "data": {"spec": {"template": {**template(f"agent:{i}"), "$patch": "replace"}}},
        }
        for i in (1, 2)
    }
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "shop"},
        "reason": "ScalingReplicaSet",
        "message": "Scaled up",
        "count": 3,
        "firstTimestamp": ts(900),
        "lastTimestamp": ts(300),
    }
    fresh = {
        **event,
        "metadata": {"name": "web.2", "namespace": "shop"},
        "count": 1,
        "firstTimestamp": ts(-5),
        "lastTimestamp": ts(-5),
    }
    return {
        "deployments.apps": {WEB: deploy},
        "replicasets.apps": {
            ObjectKey("replicasets.apps", "shop", "web-aaaaa"): rs("web-aaaaa", 1, "web:1", 3600),
            ObjectKey("replicasets.apps", "shop", "web-bbbbb"): rs("web-bbbbb", 2, "web:2", 600),
        },
        "daemonsets.apps": {ObjectKey("daemonsets.apps", "shop", "agent"): ds},
        "controllerrevisions.apps": revisions,
        "events": {
            ObjectKey("events", "shop", "web.1"): event,
            ObjectKey("events", "shop", "web.2"): fresh,
        },
    }


def by_key(found, key):
    return sorted((r for r in found if r.key == key), key=lambda r: r.t)


def test_a_deployment_s_rollout_history_from_its_replicasets():
    found = by_key(remember(state(), T), WEB)
    versions = [r for r in found if r.obj is not None]
    assert [
        (r.t, r.obj["spec"]["template"]["spec"]["containers"][0]["image"]) for r in versions
    ] == [
        (T - 3600 * NS, "web:1"),
        (T - 600 * NS, "web:2"),
    ]
    v1 = versions[0].obj
    # only what the ReplicaSet remembers: the template (without the controller's hash label)
    assert v1["spec"] == {"template": template("web:1")}
    assert v1["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert "web-aaaaa" in v1[RECONSTRUCTED_FIELD] and "status" not in v1


def test_a_rollback_is_marked_not_invented():
    s = state()
    # revision 3 is the old template of web-aaaaa rolled back to (its creation stays old)
    s["replicasets.apps"][ObjectKey("replicasets.apps", "shop", "web-aaaaa")] = rs(
        "web-aaaaa", 3, "web:1", 3600, history="1"
    )
    found = by_key(remember(s, T), WEB)
    marks = [r.note for r in found if r.obj is None]
    assert any("rolled back to revision 3" in note for note in marks)


def test_daemonset_revisions_events_managed_fields_and_conditions():
    found = remember(state(), T)
    agent = [r for r in by_key(found, ObjectKey("daemonsets.apps", "shop", "agent")) if r.obj]
    images = [r.obj["spec"]["template"]["spec"]["containers"][0]["image"] for r in agent]
    assert images == ["agent:1", "agent:2"]
    assert "$patch" not in agent[0].obj["spec"]["template"]
    ev = by_key(found, ObjectKey("events", "shop", "web.1"))
    assert [(r.t, r.obj is not None) for r in ev] == [(T - 900 * NS, False), (T - 300 * NS, True)]
    assert ev[1].obj["count"] == 3 and "first occurrence" in ev[0].note
    # an event newer than the session's start is not from before: nothing remembered
    assert not by_key(found, ObjectKey("events", "shop", "web.2"))
    notes = {(r.t, r.note) for r in by_key(found, WEB) if r.obj is None}
    assert (T - 600 * NS, "kubectl-set last wrote: spec.template") in notes
    assert (T - 500 * NS, "condition Available became True (MinimumReplicasAvailable)") in notes
    assert (T - 10 * NS, "condition Progressing became True") in notes


def test_applied_they_come_before_the_observed_version_marked_as_reconstructed():
    tmap = TemporalMap()
    s = state()
    tmap.put(WEB, T + 5, s["deployments.apps"][WEB])
    store = ProvenanceStore()
    written = []
    store.add_sink(lambda p, content: written.append((p, content)))
    apply(tmap, store, remember(s, T))
    assert [t for t, _ in tmap.history(WEB)] == [T - 3600 * NS, T - 600 * NS, T + 5]
    assert reconstructed_note(tmap.get(WEB, T - 1))
    assert not reconstructed_note(tmap.get(WEB, T + 5))
    p = store.version(WEB, T - 600 * NS)
    assert p.origin == RECONSTRUCTED and not p.mark
    assert any(p.mark for p in store.marks(WEB))
    assert any(c is not None for _, c in written)  # a recorder gets the content to write


@pytest.mark.parametrize("segmented", [False, True], ids=["v0.1 file", "segmented"])
async def test_a_recorded_session_keeps_what_the_cluster_remembered(sim, tmp_path, segmented):
    created = sim.store.create(
        "deployments.apps",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": 1, "template": template("web:2")},
        },
    )
    uid = created.obj["metadata"]["uid"]
    for name, rev, image in (("web-aaaaa", 1, "web:1"), ("web-bbbbb", 2, "web:2")):
        sim.store.create(
            "replicasets.apps",
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": name,
                    "namespace": "demo",
                    "annotations": {"deployment.kubernetes.io/revision": str(rev)},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "web",
                            "uid": uid,
                            "controller": True,
                        }
                    ],
                },
                "spec": {"replicas": 1, "template": template(image, name[-5:])},
            },
        )
    await asyncio.sleep(1.1)  # creation times have a resolution of one second
    options = ClusterOptions(
        kubeconfig=str(sim.kubeconfig_path), include=("deployments", "replicasets")
    )
    session = ClusterSession(options, tuning=FAST)
    await session.connect()
    path = tmp_path / "live.khr"
    if segmented:
        writer = SegmentedWriter.create_local(
            path, session.info, writer_options=SegmentOptions(autoflush=False, background=False)
        )
    else:
        writer = RecordingWriter.create(
            path, session.info, writer_options=WriterOptions(autoflush=False)
        )
    recorder = Recorder(session, writer)
    recorder.attach()
    session.run()
    key = ObjectKey("deployments.apps", "demo", "web")
    try:
        await eventually(
            lambda: session.provenance.version(key, _first(session, key)),
            "the rollout history is backfilled",
        )
        live_history = session.tmap.history(key)
    finally:
        await session.close()
        recorder.sync()
        writer.close()
    assert len(live_history) == 3  # two reconstructed revisions, then the observed version
    replay = open_any(path)
    assert replay.tmap.history(key) == live_history
    first_t = live_history[0][0]
    assert replay.provenance.version(key, first_t).origin == RECONSTRUCTED
    assert reconstructed_note(replay.tmap.get(key, first_t))
    observed_t = live_history[-1][0]
    assert not reconstructed_note(replay.tmap.get(key, observed_t))
    assert replay.provenance.observed_from is not None and first_t < replay.provenance.observed_from


def _first(session: ClusterSession, key: ObjectKey) -> int:
    times = session.tmap.version_times(key)
    return times[0] if times else -1


def test_times_parse_back():
    assert parse_k8s_time(ts(10)) == T - 10 * NS


def test_control_characters_from_the_cluster_never_reach_a_note():
    s = state()
    s["deployments.apps"][WEB]["status"]["conditions"][0]["reason"] = "Evil\x1b[2J\x07"
    notes = [r.provenance().note for r in remember(s, T) if r.key == WEB and r.obj is None]
    assert any("Evil" in n for n in notes)
    assert not any("\x1b" in n or "\x07" in n for n in notes)
