"""Paths, sanitizing and Secrets: what ends up in a file, and where."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from khronoscope.core.types import ObjectKey
from khronoscope.export import layout
from khronoscope.export.sanitize import sanitize
from khronoscope.export.scope import ExportScope, resolve_types, skip_reason
from khronoscope.export.secrets import MARKER, SecretsMode, prepare
from tests.export.scenario import LONG_NAME, PASSWORD, TYPES, b64, deployment, secret


def test_paths_follow_the_layout():
    assert layout.path_for(ObjectKey("configmaps", "default", "app-config")) == (
        "default/configmaps/app-config.yaml"
    )
    assert layout.path_for(ObjectKey("deployments.apps", "web", "api")) == (
        "web/deployments.apps/api.yaml"
    )
    key = ObjectKey(
        "clusterroles.rbac.authorization.k8s.io", "", "system:controller:job-controller"
    )
    assert layout.path_for(key, "clusters/prod") == (
        "clusters/prod/_cluster/clusterroles.rbac.authorization.k8s.io/"
        "system%3Acontroller%3Ajob-controller.yaml"
    )


def test_names_differing_in_case_stay_distinct_on_case_insensitive_filesystems():
    a, b = layout.encode("Web"), layout.encode("web")
    assert a != b and a.lower() != b.lower()
    assert layout.encode("ünï") == "%C3%BCn%C3%AF"


@given(st.text(min_size=1, max_size=300).filter(lambda s: "%" not in s))
def test_encoding_is_injective_and_decodable(name):
    component = layout.file_component(name)
    assert len(component) <= layout.MAX_COMPONENT
    assert "/" not in component and "%" not in name
    if "_" not in component:
        assert layout.decode(component) == name


def test_long_names_are_truncated_with_a_hash_that_cannot_collide():
    assert len(LONG_NAME) == 253
    component = layout.file_component(LONG_NAME)
    assert len(component) == layout.MAX_COMPONENT
    other = layout.file_component(LONG_NAME[:-1] + "c")
    assert component != other and component[:150] == other[:150]
    # a long name full of escapes is never cut in the middle of one
    escaped = layout.file_component("Ä" * 100)
    head = escaped.rsplit("_", 1)[0]
    assert len(head) % 6 == 0 and layout.decode(head) == "Ä" * (len(head) // 6)


def test_sanitize_removes_cluster_fields_and_keeps_what_users_wrote():
    obj = deployment("web:1")
    clean = sanitize(obj, "deployments.apps")
    meta = clean["metadata"]
    assert set(meta) == {"name", "namespace", "labels", "annotations"}
    assert meta["annotations"] == {"team": "payments"}
    assert "status" not in clean
    template = clean["spec"]["template"]
    assert template["metadata"] == {"labels": {"app": "web"}}
    assert template["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]
    assert obj["status"] and obj["metadata"]["uid"]  # the input is not modified


def test_sanitize_services_and_claims():
    svc = {
        "metadata": {"name": "s"},
        "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": []},
    }
    assert sanitize(svc, "services")["spec"] == {"ports": []}
    headless = {"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}}
    assert sanitize(headless, "services")["spec"] == {"clusterIP": "None", "clusterIPs": ["None"]}
    pvc = {
        "metadata": {
            "name": "p",
            "finalizers": ["kubernetes.io/pvc-protection"],
            "annotations": {"pv.kubernetes.io/bind-completed": "yes"},
        },
        "spec": {"volumeName": "pv-1", "resources": {}},
    }
    clean = sanitize(pvc, "persistentvolumeclaims")
    assert clean == {
        "metadata": {"name": "p", "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"resources": {}},
    }


def test_redacted_secret_keeps_sorted_keys_and_no_value():
    obj = secret({"password": PASSWORD, "user": "admin"})
    obj["stringData"] = {"extra": "plain-extra-value"}
    out = prepare(sanitize(obj, "secrets"), SecretsMode.REDACT)
    assert out is not None
    assert out["data"] == {"password": MARKER, "user": MARKER}
    assert "stringData" not in out
    # an annotation quoting the value is redacted too; last-applied is gone by sanitizing
    assert out["metadata"]["annotations"] == {"backup.example.com/copy": MARKER}
    text = repr(out)
    assert PASSWORD not in text and b64(PASSWORD) not in text
    assert prepare(sanitize(obj, "secrets"), SecretsMode.OMIT) is None
    plain = prepare(sanitize(obj, "secrets"), SecretsMode.PLAINTEXT)
    assert plain is not None and plain["data"]["password"] == b64(PASSWORD)


def test_default_skips():
    owned = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "controller": True}]}}
    assert skip_reason(ObjectKey("pods", "a", "p"), owned) == "owned by a controller"
    assert skip_reason(ObjectKey("pods", "a", "p"), {"metadata": {}}) is None
    assert skip_reason(ObjectKey("configmaps", "a", "kube-root-ca.crt"), {}) is not None
    token = {"type": "kubernetes.io/service-account-token"}
    assert skip_reason(ObjectKey("secrets", "a", "t"), token) is not None
    assert skip_reason(ObjectKey("events.events.k8s.io", "a", "e"), {}) is not None
    assert skip_reason(ObjectKey("pods.metrics.k8s.io", "a", "e"), {}) is not None
    assert ExportScope(include_skipped=True).wants(ObjectKey("pods", "a", "p"), owned)


def test_namespace_filter_keeps_the_namespace_objects_only_of_cluster_scope():
    scope = ExportScope(namespaces=frozenset({"app"}))
    assert scope.wants_key(ObjectKey("configmaps", "app", "x"))
    assert not scope.wants_key(ObjectKey("configmaps", "other", "x"))
    assert scope.wants_key(ObjectKey("namespaces", "", "app"))
    assert not scope.wants_key(ObjectKey("namespaces", "", "other"))
    assert not scope.wants_key(ObjectKey("clusterroles.rbac.authorization.k8s.io", "", "x"))


def test_type_names_resolve_like_kubectl():
    assert resolve_types(["deploy"], TYPES) == {"deployments.apps"}
    assert resolve_types(["cm", "Secret"], TYPES) == {"configmaps", "secrets"}
    # the same kind in two groups: the bare plural means the core one... and neither is core here
    assert resolve_types(["deployments"], TYPES) == {"deployments.apps", "deployments.other.io"}
    assert resolve_types(["deployments.other.io"], TYPES) == {"deployments.other.io"}
