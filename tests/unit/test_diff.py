"""Structural diff/patch round trip on arbitrary JSON-like values, and readable field paths."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from khronoscope.temporal.diff import changed_paths, diff, patch

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(json_values, json_values)
def test_patch_of_diff_gives_the_target_and_leaves_the_source_alone(a, b):
    before = copy.deepcopy(a)
    result = patch(a, diff(a, b))
    assert result == b
    assert _same_types(result, b)
    assert a == before


@given(json_values)
def test_diff_of_equal_values_is_empty(a):
    assert diff(a, copy.deepcopy(a)) == []
    assert changed_paths(a, copy.deepcopy(a)) == []


def _same_types(x, y) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return all(_same_types(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return all(_same_types(p, q) for p, q in zip(x, y, strict=True))
    return True


def test_changed_paths_name_containers_by_name():
    old = {
        "spec": {"containers": [{"name": "web", "image": "a:1"}, {"name": "side", "image": "s"}]}
    }
    new = {
        "spec": {"containers": [{"name": "web", "image": "a:2"}, {"name": "side", "image": "s"}]}
    }
    assert changed_paths(old, new) == ["spec.containers[web].image"]


def test_changed_paths_report_added_and_removed_keys():
    old = {"metadata": {"labels": {"a": "1"}}, "data": {"x": "1"}}
    new = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    assert changed_paths(old, new) == ["data", "metadata.labels.b"]
