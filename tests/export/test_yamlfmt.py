"""The one YAML dump: order, style, quoting, and load(dump(x)) == x for any JSON-like value."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from khronoscope.export import yamlemit
from khronoscope.export.yamlfmt import dump, load, pyyaml_dump
from tests.export.scenario import seeded
from tests.export.test_same_bytes import random_history, yaml_zoo

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


# characters that move PyYAML's style decisions: indicators, spaces, breaks, escapes, unicode
STYLE_CHARS = " \n\t:#-?'\"\\\r\x85\u2028\ufeff\xa0\x00\x07|>{}[],.%@`!&*~=+_/aey01é🚀"
tricky_text = st.text(st.sampled_from(STYLE_CHARS), max_size=12) | st.sampled_from(
    [*TRICKY, "", "k" * 122, "k" * 123, "a\n\n", "\n", " a\nb", "---", "...", "- x", "? x"]
)
# keys as objects hold them: one line, not empty (others make PyYAML write `? key`)
key_text = st.text(
    st.sampled_from(STYLE_CHARS.translate({ord(c): None for c in "\n\r\x85\u2028"})),
    min_size=1,
    max_size=12,
) | st.sampled_from([*TRICKY, "k" * 122])
styled_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(key_text, styled_values, min_size=1, max_size=6), st.booleans())
def test_the_direct_writer_writes_pyyamls_bytes(value, top_level):
    text = yamlemit.emit(value, top_level)
    assert text is not None
    assert text.encode() == pyyaml_dump(value, top_level=top_level)


def test_the_direct_writer_covers_manifests():
    """Every object of the scenarios (and the style zoo without its over-long keys) is written
    by the direct writer, with PyYAML's bytes."""
    objects = []
    for src in (seeded()[0], random_history()):
        tmap = src.tmap
        assert tmap.first_t is not None and tmap.last_t is not None
        objects += [tmap.get(k, tmap.first_t) for k in tmap.keys_at(tmap.first_t)]
        objects += [tmap.get(c.key, c.t) for c in tmap.changes(tmap.first_t, tmap.last_t)]
    zoo = yaml_zoo(1)
    zoo["data"] = {k: v for k, v in zoo["data"].items() if len(k) < 123}
    objects = [obj for obj in objects if obj is not None and "k" * 123 not in obj.get("data", {})]
    objects.append(zoo)
    assert len(objects) > 100
    for obj in objects:
        text = yamlemit.emit(obj, True)
        assert text is not None, obj
        assert text.encode() == pyyaml_dump(obj), obj
    # a float or an over-long key: PyYAML's bytes through the fallback
    assert yamlemit.emit({"a": 1.5}, True) is None and dump({"a": 1.5}) == b"a: 1.5\n"
    long_key = {"k" * 130: "v"}
    assert yamlemit.emit(long_key, True) is None and dump(long_key) == pyyaml_dump(long_key)
