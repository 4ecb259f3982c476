"""A Secret rotation is a change every reader names (history, "what changed", diff) without
showing the value it had or has (issue 17: they said "only resourceVersion" before)."""

from __future__ import annotations

import base64

from khronoscope.core.types import ObjectKey
from khronoscope.printers.objdiff import CHANGED, comparable, meaningful_paths, object_diff
from khronoscope.printers.redact import PLACEHOLDER
from khronoscope.tui.versions import ObjectHistory
from tests import testing

KEY = ObjectKey("secrets", "shop", "db-credentials")


def _rotated(obj: dict, password: str, rv: str) -> dict:
    data = dict(obj["data"], password=base64.b64encode(password.encode()).decode())
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": rv}, "data": data}


def test_a_rotation_names_the_key_that_changed_and_no_value():
    old = testing.secret(testing.at(0))
    new = _rotated(old, "n3w-password", "999")
    assert meaningful_paths(KEY, old, new) == ["data.password"]
    a, b = comparable(KEY, old, new)
    assert a is not None and b is not None
    assert a["data"] == {"password": PLACEHOLDER, "username": PLACEHOLDER}
    assert b["data"] == {"password": CHANGED, "username": PLACEHOLDER}
    text = "\n".join(object_diff(KEY, old, new, "a", "b").lines)
    assert f"+  password: {CHANGED}" in text
    for value in ("n3w-password", testing.SECRET_PASSWORD):
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


def test_the_history_screen_lists_a_rotation_as_a_change_of_the_password():
    src = testing.incident_source()
    old = src.tmap.get(KEY, testing.at(0))
    assert old is not None
    src.put(testing.at(70), _rotated(old, "n3w-password", "999"))
    history = ObjectHistory(src.tmap, KEY)
    entries = [history.entry(i) for i in range(len(history))]
    rotation = next(e for e in entries if e.t == testing.at(70))
    assert rotation.paths == ["data.password"]
