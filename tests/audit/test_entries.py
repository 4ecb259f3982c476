"""Each verb and subresource of an audit entry, imported into a recording and read back."""

from __future__ import annotations

import base64
from pathlib import Path

from khronoscope.audit.entries import parse_stamp
from khronoscope.audit.importer import import_new
from khronoscope.core.provenance import AUDIT, is_unknown, unknown_reason
from khronoscope.core.types import ChangeKind, ObjectKey
from khronoscope.recording.source import RecordingSource, open_recording
from tests.audit.lines import (
    ALICE,
    KCM,
    KCM_AGENT,
    deployment,
    event,
    pod,
    secret,
    stamp,
    write,
)

WEB = ObjectKey("deployments.apps", "shop", "web")
POD = ObjectKey("pods", "shop", "web-1")


def imported(tmp_path: Path, events: list[dict], name: str = "out.khr") -> RecordingSource:
    """The events as an audit log, imported with `import_new`, opened."""
    log = write(tmp_path / "audit.log", events)
    out = tmp_path / name
    import_new([log], out, cluster="c1", worker=False)
    return open_recording(out)


def at(second: float) -> int:
    return parse_stamp(stamp(second))


def history(src: RecordingSource, key: ObjectKey) -> list[tuple[int, ChangeKind]]:
    return src.tmap.history(key)


def create_web(second: float = 1, rv: int = 10, **kw) -> dict:
    d = deployment("web", rv, **kw)
    return event(second, "create", "deployments", "web", group="apps", request=d, response=d)


def test_create_update_patch_become_versions_with_who_made_them(tmp_path):
    d2 = deployment("web", 11, replicas=2)
    d3 = deployment("web", 12, replicas=2, labels={"team": "a"})
    src = imported(
        tmp_path,
        [
            create_web(),
            event(2, "update", "deployments", "web", group="apps", request=d2, response=d2),
            event(
                3,
                "patch",
                "deployments",
                "web",
                group="apps",
                request={"metadata": {"labels": {"team": "a"}}},
                response=d3,
                ips=["10.0.0.7", "192.168.1.3"],
            ),
        ],
    )
    assert [k for _, k in history(src, WEB)] == [
        ChangeKind.ADDED,
        ChangeKind.MODIFIED,
        ChangeKind.MODIFIED,
    ]
    assert [t for t, _ in history(src, WEB)] == [at(1), at(2), at(3)]
    assert src.tmap.get(WEB, at(2.5))["spec"]["replicas"] == 2
    assert src.tmap.get(WEB, at(3))["metadata"]["labels"] == {"team": "a"}
    prov = src.provenance.version(WEB, at(3))
    assert prov is not None and prov.origin == AUDIT and prov.verb == "patch"
    assert prov.actor.user == "alice@example.com"
    assert prov.actor.groups == ("devs", "system:authenticated")
    assert prov.actor.user_agent.startswith("kubectl/")
    assert prov.actor.source_ips == ("10.0.0.7", "192.168.1.3")
    assert prov.resource_version == "12"


def test_status_subresource_answers_with_the_object(tmp_path):
    status = deployment("web", 11)
    status["status"] = {"replicas": 1, "readyReplicas": 1}
    src = imported(
        tmp_path,
        [
            create_web(),
            event(
                2,
                "update",
                "deployments",
                "web",
                group="apps",
                sub="status",
                request=status,
                response=status,
                user=KCM,
                agent=KCM_AGENT,
            ),
        ],
    )
    assert src.tmap.get(WEB, at(2))["status"]["readyReplicas"] == 1
    prov = src.provenance.version(WEB, at(2))
    assert prov.subresource == "status" and prov.user == "system:kube-controller-manager"


def test_scale_subresource_answers_with_a_scale_not_the_deployment(tmp_path):
    scale = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "11"},
        "spec": {"replicas": 5},
        "status": {"replicas": 1, "selector": "app=web"},
    }
    src = imported(
        tmp_path,
        [
            create_web(),
            event(
                2,
                "patch",
                "deployments",
                "web",
                group="apps",
                sub="scale",
                request={"spec": {"replicas": 5}},
                response=scale,
            ),
        ],
    )
    after = src.tmap.get(WEB, at(2))
    # still the Deployment, with only what a scale changes
    assert after["kind"] == "Deployment"
    assert after["spec"]["replicas"] == 5
    assert after["spec"]["template"] == deployment("web", 0)["spec"]["template"]
    assert after["metadata"]["resourceVersion"] == "11"
    assert after["metadata"]["generation"] == 2
    assert "status" not in after or after["status"] == {}  # not the Scale's status


def test_scale_of_an_object_never_seen_is_unknown(tmp_path):
    scale = {"kind": "Scale", "metadata": {"name": "web", "resourceVersion": "11"}, "spec": {}}
    src = imported(
        tmp_path,
        [event(2, "update", "deployments", "web", group="apps", sub="scale", response=scale)],
    )
    obj = src.tmap.get(WEB, at(2))
    assert is_unknown(obj) and obj["kind"] == "Deployment"


def test_delete_answered_with_a_status_deletes(tmp_path):
    status = {"kind": "Status", "apiVersion": "v1", "status": "Success"}
    src = imported(
        tmp_path,
        [create_web(), event(5, "delete", "deployments", "web", group="apps", response=status)],
    )
    assert history(src, WEB)[-1] == (at(5), ChangeKind.DELETED)
    assert src.provenance.version(WEB, at(5)).verb == "delete"


def test_delete_answered_with_the_object_deletes_or_marks_it_as_being_deleted(tmp_path):
    gone = pod("web-1", 21, deletionTimestamp=f"{stamp(5)}", deletionGracePeriodSeconds=0)
    graceful = pod("web-2", 22, deletionTimestamp=stamp(5), deletionGracePeriodSeconds=30)
    held = pod("web-3", 23, deletionTimestamp=stamp(5), finalizers=["example.com/keep"])
    events = []
    for i, p in enumerate((pod("web-1", 11), pod("web-2", 12), pod("web-3", 13)), 1):
        events.append(event(1 + i / 10, "create", "pods", p["metadata"]["name"], response=p))
    for p in (gone, graceful, held):
        events.append(event(5, "delete", "pods", p["metadata"]["name"], response=p))
    src = imported(tmp_path, events)
    assert src.tmap.get(POD, at(6)) is None
    still = src.tmap.get(ObjectKey("pods", "shop", "web-2"), at(6))
    assert still["metadata"]["deletionGracePeriodSeconds"] == 30
    assert src.tmap.get(ObjectKey("pods", "shop", "web-3"), at(6))["metadata"]["finalizers"]


def test_deletecollection_lists_what_it_deleted(tmp_path):
    listed = {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "30"},
        "items": [
            {"metadata": {"name": "web-1", "namespace": "shop", "resourceVersion": "25"}},
            {
                "metadata": {
                    "name": "web-2",
                    "namespace": "shop",
                    "resourceVersion": "26",
                    "finalizers": ["x/y"],
                    "deletionTimestamp": stamp(5),
                }
            },
        ],
    }
    events = [
        event(1, "create", "pods", "web-1", response=pod("web-1", 11)),
        event(1.5, "create", "pods", "web-2", response=pod("web-2", 12)),
        event(
            5, "deletecollection", "pods", "", response=listed, uri="/api/v1/namespaces/shop/pods"
        ),
    ]
    src = imported(tmp_path, events)
    assert src.tmap.get(POD, at(6)) is None
    kept = src.tmap.get(ObjectKey("pods", "shop", "web-2"), at(6))
    assert kept["kind"] == "Pod" and kept["metadata"]["finalizers"] == ["x/y"]


def test_deletecollection_without_a_body_leaves_every_known_object_unknown(tmp_path):
    events = [
        event(1, "create", "pods", "web-1", response=pod("web-1", 11)),
        event(1.5, "create", "pods", "web-2", response=pod("web-2", 12)),
        event(1.6, "create", "pods", "db-1", namespace="data", response=pod("db-1", 13)),
        event(5, "deletecollection", "pods", "", level="Metadata"),
    ]
    src = imported(tmp_path, events)
    for name in ("web-1", "web-2"):
        obj = src.tmap.get(ObjectKey("pods", "shop", name), at(6))
        assert is_unknown(obj) and "deletecollection" in unknown_reason(obj)
    other = ObjectKey("pods", "data", "db-1")
    assert not is_unknown(src.tmap.get(other, at(6)))


def test_metadata_level_writes_are_changes_whose_content_is_unknown(tmp_path):
    cm = ObjectKey("configmaps", "shop", "cfg")
    events = [
        event(1, "create", "configmaps", "cfg", level="Metadata"),
        event(2, "patch", "configmaps", "cfg", level="Metadata"),
        event(3, "delete", "configmaps", "cfg", level="Metadata"),
    ]
    src = imported(tmp_path, events)
    kinds = [k for _, k in history(src, cm)]
    assert kinds == [ChangeKind.ADDED, ChangeKind.MODIFIED, ChangeKind.DELETED]
    first, second = src.tmap.get(cm, at(1)), src.tmap.get(cm, at(2))
    assert is_unknown(first) and is_unknown(second)
    assert first["kind"] == "ConfigMap" and first["metadata"]["name"] == "cfg"
    assert "data" not in first  # nothing invented
    prov = src.provenance.version(cm, at(2))
    assert prov.unknown and prov.user == "alice@example.com"
    assert prov.describe() == "changed by alice@example.com (content not in the audit log)"


def test_metadata_delete_of_an_object_with_finalizers_is_unknown_not_gone(tmp_path):
    d = deployment("web", 10, finalizers=["example.com/hold"])
    events = [
        event(1, "create", "deployments", "web", group="apps", response=d),
        event(3, "delete", "deployments", "web", group="apps", level="Metadata"),
    ]
    src = imported(tmp_path, events)
    assert is_unknown(src.tmap.get(WEB, at(4)))


def test_subresources_answering_with_a_status_leave_the_object_unknown(tmp_path):
    status = {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}
    binding = {"kind": "Binding", "target": {"kind": "Node", "name": "n1"}}
    events = [
        event(1, "create", "pods", "web-1", response=pod("web-1", 11)),
        event(2, "create", "pods", "web-1", sub="binding", request=binding, response=status),
    ]
    src = imported(tmp_path, events)
    assert is_unknown(src.tmap.get(POD, at(2)))
    assert src.provenance.version(POD, at(2)).subresource == "binding"


def test_what_is_not_a_change_is_skipped(tmp_path):
    p = pod("web-1", 11)
    events = [
        event(1, "create", "pods", "web-1", response=p),
        event(2, "get", "pods", "web-1", response=p),
        event(2.1, "list", "pods", "", response={"kind": "PodList", "items": [p]}),
        event(2.2, "watch", "pods", ""),
        event(2.3, "create", "pods", "web-1", sub="exec", response={"kind": "Status"}),
        event(2.4, "get", "pods", "web-1", sub="log"),
        event(2.5, "create", "pods", "web-1", sub="portforward"),
        event(2.6, "create", "serviceaccounts", "default", sub="token", response={"kind": "X"}),
        event(2.7, "create", "tokenreviews", "", namespace="", group="authentication.k8s.io"),
        event(2.8, "update", "pods", "web-1", code=409, response={"kind": "Status"}),
        event(2.9, "patch", "pods", "web-1", response=pod("web-1", 99), stage="RequestReceived"),
        event(
            3.0,
            "patch",
            "pods",
            "web-1",
            response=pod("web-1", 98),
            uri="/api/v1/namespaces/shop/pods/web-1?dryRun=All",
        ),
    ]
    src = imported(tmp_path, events)
    assert history(src, POD) == [(at(1), ChangeKind.ADDED)]
    assert ObjectKey("serviceaccounts", "shop", "default") not in src.tmap
    assert not list(src.tmap.chains("tokenreviews.authentication.k8s.io"))


def test_a_duplicate_entry_is_imported_once(tmp_path):
    first = create_web()
    again = dict(first)
    d2 = deployment("web", 11, replicas=3)
    events = [first, event(2, "update", "deployments", "web", group="apps", response=d2), again]
    src = imported(tmp_path, events)
    assert len(history(src, WEB)) == 2
    assert src.tmap.get(WEB, at(9))["spec"]["replicas"] == 3


def test_an_entry_older_than_the_version_written_is_skipped(tmp_path):
    d12 = deployment("web", 12, replicas=3)
    d11 = deployment("web", 11, replicas=2)
    # the same second: the reorder window cannot help, the resourceVersion decides
    events = [
        create_web(1),
        event(2, "update", "deployments", "web", group="apps", response=d12),
        event(2, "update", "deployments", "web", group="apps", response=d11),
    ]
    src = imported(tmp_path, events)
    assert src.tmap.get(WEB, at(9))["spec"]["replicas"] == 3


def test_generate_name_creates_are_named_by_their_answer(tmp_path):
    created = pod("web-7x2kq", 11, generateName="web-")
    src = imported(tmp_path, [event(1, "create", "pods", "", response=created)])
    assert ObjectKey("pods", "shop", "web-7x2kq") in src.tmap


def test_namespaces_are_cluster_scoped(tmp_path):
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop"}}
    src = imported(
        tmp_path, [event(1, "create", "namespaces", "shop", namespace="shop", response=ns)]
    )
    assert ObjectKey("namespaces", "", "shop") in src.tmap


def test_secret_values_are_redacted_at_import_exactly_as_at_ingest(tmp_path):
    value = "hunter2-very-secret"
    s1 = secret("db", 11, value)
    applied = f'{{"stringData":{{"password":"{value}"}}}}'
    s1["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": applied}
    s2 = secret("db", 12, "swordfish-also-secret")
    events = [
        event(1, "create", "secrets", "db", request=s1, response=s1),
        event(2, "update", "secrets", "db", request=s2, response=s2),
    ]
    src = imported(tmp_path, events)
    key = ObjectKey("secrets", "shop", "db")
    a, b = src.tmap.get(key, at(1)), src.tmap.get(key, at(2))
    assert a["data"]["password"].startswith("<redacted:")
    assert a["data"]["password"] != b["data"]["password"]  # a rotation stays visible
    raw = (tmp_path / "out.khr").read_bytes()
    for secret_value in (value, "swordfish-also-secret"):
        for form in (secret_value, base64.b64encode(secret_value.encode()).decode()):
            assert form.encode() not in raw


def test_impersonation_names_both_users(tmp_path):
    ev = create_web()
    ev["impersonatedUser"] = {"username": "bob", "groups": ["ops"]}
    src = imported(tmp_path, [ev])
    prov = src.provenance.version(WEB, at(1))
    assert prov.user == f"bob (as impersonated by {ALICE['username']})"
    assert prov.actor.groups == ("ops",)


def test_control_characters_of_a_user_agent_never_reach_the_recording(tmp_path):
    ev = create_web()
    ev["userAgent"] = "evil\x1b[2J\x07agent"
    src = imported(tmp_path, [ev])
    agent = src.provenance.version(WEB, at(1)).actor.user_agent
    assert "\x1b" not in agent and "\x07" not in agent and agent.startswith("evil")
