"""The one YAML dump: order, style, quoting, and load(dump(x)) == x for any JSON-like value."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from khronoscope.export.yamlfmt import dump, load

TRICKY = [
    "y",
    "n",
    "Y",
    "N",
    "on",
    "off",
    "yes",
    "no",
    "true",
    "False",
    "null",
    "~",
    "1e3",
    "08",
    "0o17",
    "0x1F",
    "1_000",
    "12:30",
    "1:20:30",
    ".inf",
    "-.5",
    "+1",
    "2024-01-02",
    "=",
    "<<",
    "0b101",
    "1.",
    "010",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
    | st.sampled_from([*TRICKY, "a\nb\n", "  lead\n", "trail  \nx", "\n", "a\r\nb", "é\u2028x"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(TRICKY), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8) | st.sampled_from(TRICKY), json_values, max_size=6))
def test_round_trip_and_idempotent(value):
    text = dump(value)
    assert load(text) == value
    assert dump(load(text)) == text
    assert (text.endswith(b"\n") and not text.endswith(b"\n\n")) or text == b"{}\n"
    assert not text.startswith(b"---")


def test_tricky_scalars_are_quoted_for_every_parser():
    text = dump({"v": TRICKY}).decode()
    for scalar in TRICKY:
        assert f'- "{scalar}"' in text or f"- '{scalar}'" in text, scalar
    # a YAML 1.1 reader (PyYAML's default) reads them back as strings too
    assert yaml.safe_load(text) == {"v": TRICKY}


def test_kubernetes_order_block_style_and_kept_empties():
    obj = {
        "spec": {
            "z": 1,
            "volumes": [{"name": "c", "emptyDir": {}}],
            "clusterIP": "None",
            "ports": [],
            "a": {"long": "x" * 300},
        },
        "metadata": {"labels": {"b": "1", "a": "2"}, "namespace": "ns", "name": "web"},
        "kind": "Service",
        "apiVersion": "v1",
        "data": {"script": "#!/bin/sh\necho hi\n"},
    }
    text = dump(obj).decode()
    lines = text.splitlines()
    assert lines[:5] == [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        "  name: web",
        "  namespace: ns",
    ]
    assert "  volumes:\n  - emptyDir: {}\n    name: c" in text  # kubectl-style lists, {} kept
    assert "  clusterIP: None" in text and "  ports: []" in text
    assert "    long: " + "x" * 300 in text  # no line wrapping
    assert "  script: |\n    #!/bin/sh\n    echo hi\n" in text
    assert text.index("data:") < text.index("spec:")  # the rest sorted
    assert text.index('    a: "2"') < text.index('    b: "1"')


def test_output_is_utf8_and_identical_sub_objects_are_not_aliased():
    shared = {"k": "v"}
    text = dump({"a": shared, "b": shared, "u": "ünï ✓"})
    assert "ünï ✓".encode() in text
    assert b"&" not in text and b"*" not in text
