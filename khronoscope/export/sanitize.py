"""Turn a live object into a clean manifest: remove what the cluster adds, keep what a user wrote.

The rule is removal of a known list (never an allowlist), so unknown fields of CRDs survive, and
defaults, empty `{}`/`[]` and list order are kept as the API returned them.
"""

from __future__ import annotations

from typing import Any

METADATA_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
    "ownerReferences",
)

ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deprecated.daemonset.template.generation",
        "control-plane.alpha.kubernetes.io/leader",
        "kubernetes.io/service-account.uid",
        "endpoints.kubernetes.io/last-change-trigger-time",
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "volume.kubernetes.io/selected-node",
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
    }
)


def sanitize(obj: dict[str, Any], type_name: str) -> dict[str, Any]:
    """A cleaned deep copy of `obj`, an object of type `type_name` (`services`, `pods`)."""
    out = _copy(obj)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for field in METADATA_FIELDS:
            meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            removed = ANNOTATIONS.intersection(annotations)
            for name in removed:
                del annotations[name]
            # the API server never returns an empty map (omitempty): one we emptied was absent
            # from the manifest, so it goes; an empty map from any other source stays
            if removed and not annotations:
                del meta["annotations"]
    spec = out.get("spec")
    if isinstance(spec, dict):
        _strip_null_template_timestamps(spec)
        if type_name == "services":
            if spec.get("clusterIP") != "None":
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
        elif type_name == "persistentvolumeclaims":
            spec.pop("volumeName", None)
    return out


def _strip_null_template_timestamps(value: Any) -> None:
    # pod templates (deployments, jobs, cronjobs' jobTemplate, CRDs embedding one) carry
    # `metadata: {creationTimestamp: null}`; only the null form is noise, so only it goes
    if isinstance(value, dict):
        meta = value.get("metadata")
        if isinstance(meta, dict) and meta.get("creationTimestamp", 0) is None:
            del meta["creationTimestamp"]
        for child in value.values():
            _strip_null_template_timestamps(child)
    elif isinstance(value, list):
        for child in value:
            _strip_null_template_timestamps(child)


def _copy(v: Any) -> Any:
    if type(v) is dict:
        return {k: _copy(x) for k, x in v.items()}
    if type(v) is list:
        return [_copy(x) for x in v]
    return v
