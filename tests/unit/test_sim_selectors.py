"""Label and field selectors of the simulated API server parse and match as kube-apiserver's do."""

from __future__ import annotations

import pytest

from khronoscope.core.selectors import SelectorError, parse_label_selector, selector_from_match
from khronoscope.sim.selectors import parse_field_selector


def pod(name: str, labels: dict[str, str], node: str = "", ns: str = "shop") -> dict:
    return {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": "Running"},
    }


PODS = [
    pod("a", {"app": "web", "tier": "fe"}, "n1"),
    pod("b", {"app": "api", "tier": "be", "canary": "true"}, "n2"),
    pod("c", {"app": "api", "tier": "be"}, "n1", ns="payments"),
    pod("d", {"version": "7"}),
]


def names(selector: str) -> list[str]:
    pred = parse_label_selector(selector)
    return [p["metadata"]["name"] for p in PODS if pred is None or pred(p)]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["a", "b", "c", "d"]),
        ("app=api", ["b", "c"]),
        ("app==api", ["b", "c"]),
        ("app!=api", ["a", "d"]),
        ("tier in (fe,be)", ["a", "b", "c"]),
        ("tier notin (be)", ["a", "d"]),
        ("canary", ["b"]),
        ("!canary", ["a", "c", "d"]),
        ("app=api,!canary", ["c"]),
        ("app in (api, web),tier=be", ["b", "c"]),
        ("version>5", ["d"]),
        ("version<5", []),
    ],
)
def test_label_selectors(selector: str, expected: list[str]) -> None:
    assert names(selector) == expected


@pytest.mark.parametrize("bad", ["app in", "app=a b", "-bad=x", "app=(x)", "n>x"])
def test_bad_label_selector_is_an_error_not_a_match(bad: str) -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector(bad)


def test_field_selectors_name_namespace_and_pod_fields() -> None:
    pred = parse_field_selector("metadata.namespace=shop,spec.nodeName=n1", "pods")
    assert pred is not None
    assert [p["metadata"]["name"] for p in PODS if pred(p)] == ["a"]
    neg = parse_field_selector("metadata.name!=a", "pods")
    assert neg is not None
    assert [p["metadata"]["name"] for p in PODS if neg(p)] == ["b", "c", "d"]


def test_unknown_field_selector_names_the_allowed_fields() -> None:
    with pytest.raises(SelectorError) as err:
        parse_field_selector("data.a=1", "configmaps")
    assert str(err.value) == (
        '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_selector_from_label_selector_object_round_trips() -> None:
    spec = {
        "matchLabels": {"app": "api"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["be"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert names(selector_from_match(spec)) == ["c"]
