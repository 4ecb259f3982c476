"""Which types a user means and which get watched: names as kubectl takes them, duplicates once."""

from __future__ import annotations

import pytest

from khronoscope.cluster.discovery import Discovery, resolve, select
from khronoscope.core.types import ResourceType
from khronoscope.errors import KhronoscopeError

LW = ("get", "list", "watch")


def _t(group, version, plural, kind, short=(), verbs=LW, singular=""):
    return ResourceType(group, version, plural, kind, True, tuple(short), verbs, singular)


PODS = _t("", "v1", "pods", "Pod", ["po"], singular="pod")
EVENTS = _t("", "v1", "events", "Event", ["ev"], singular="event")
CS = _t("", "v1", "componentstatuses", "ComponentStatus", ["cs"], verbs=("get", "list"))
DEPLOY = _t("apps", "v1", "deployments", "Deployment", ["deploy"], singular="deployment")
NEW_EVENTS = _t("events.k8s.io", "v1", "events", "Event", ["ev"], singular="event")
ING = _t("networking.k8s.io", "v1", "ingresses", "Ingress", ["ing"], singular="ingress")
OLD_ING = _t("extensions", "v1beta1", "ingresses", "Ingress", ["ing"], singular="ingress")
POD_METRICS = _t("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=("get", "list"))
WIDGETS = _t("example.com", "v1", "widgets", "Widget", ["wd"], singular="widget")


def _disc() -> Discovery:
    types = [PODS, EVENTS, CS, DEPLOY, NEW_EVENTS, ING, OLD_ING, POD_METRICS, WIDGETS]
    hashes = {"events": "ev#", "events.events.k8s.io": "ev#", "ingresses.networking.k8s.io": "in#"}
    hashes["ingresses.extensions"] = "in#"
    hashes |= {"pods": "po#", "deployments.apps": "de#", "widgets.example.com": "wi#"}
    return Discovery(types=types, storage_hash=hashes)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pods", PODS),
        ("pod", PODS),
        ("po", PODS),
        ("Pod", PODS),
        ("deploy", DEPLOY),
        ("deployments.apps", DEPLOY),
        ("deploy.apps", DEPLOY),
        ("deployments.v1.apps", DEPLOY),
        ("events", EVENTS),  # the core group comes first, as with kubectl
        ("events.events.k8s.io", NEW_EVENTS),
        ("ingresses", ING),
        ("ingresses.extensions", OLD_ING),
        ("pods.metrics.k8s.io", POD_METRICS),
        ("wd", WIDGETS),
        ("widgets.example.com", WIDGETS),
        ("nothing", None),
        ("pods.nowhere.io", None),
    ],
)
def test_resolve_names_like_kubectl(name, expected):
    assert resolve(name, _disc().types) == expected


def test_default_selection_is_every_watchable_type_once():
    names = [t.name for t in select(_disc())]
    assert names == ["pods", "events", "deployments.apps", "ingresses.networking.k8s.io",
                     "widgets.example.com"]  # fmt: skip


def test_include_and_exclude():
    assert [t.name for t in select(_disc(), include=["po", "deploy"])] == [
        "pods",
        "deployments.apps",
    ]
    # naming the other group of a duplicate watches that one
    assert [t.name for t in select(_disc(), include=["events.events.k8s.io"])] == [
        "events.events.k8s.io"
    ]
    # excluding a type excludes its duplicates too (the same objects)
    names = [t.name for t in select(_disc(), exclude=["ev", "ingresses.extensions"])]
    assert "events" not in names and "events.events.k8s.io" not in names
    assert not any(n.startswith("ingresses") for n in names)


def test_unknown_names_are_one_clear_error():
    with pytest.raises(KhronoscopeError, match=r"unknown resource type 'widgetz', 'nope'"):
        select(_disc(), include=["pods", "widgetz"], exclude=["nope"])
    with pytest.raises(KhronoscopeError, match="cannot be listed and watched"):
        select(_disc(), include=["cs"])
    # once running (a rescan), a vanished name is just not watched
    assert [t.name for t in select(_disc(), include=["pods", "widgetz"], strict=False)] == ["pods"]


@pytest.mark.parametrize("hashes", ["none", "distinct"])
def test_known_duplicates_are_dropped_even_without_matching_hashes(hashes):
    disc = _disc()
    if hashes == "none":
        disc.storage_hash = {}
    else:  # a server that hashes each group's own version (not the storage version)
        disc.storage_hash["events.events.k8s.io"] = "other#"
    names = [t.name for t in select(disc)]
    assert "events" in names and "events.events.k8s.io" not in names
    assert "ingresses.networking.k8s.io" in names and "ingresses.extensions" not in names
