"""The one sanitiser: every payload of the corpus comes out inert, visible, and plain text as is."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from khronoscope.core.safetext import safe_block, safe_json, safe_line

from .corpus import FORBIDDEN, PAYLOADS


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_every_payload_comes_out_without_a_control_character(name):
    text = f"before-{PAYLOADS[name]}-after"
    for out in (safe_line(text), safe_block(text)):
        assert not FORBIDDEN.search(out.replace("\n", "")), repr(out)
        assert out.startswith("before-") and out.endswith("-after")


def test_controls_are_shown_not_dropped():
    assert safe_line("a\x1b]52;c;eA==\x07b") == "a␛]52;c;eA==␇b"
    assert safe_line("x\ry\x08z\x7f\x00") == "x␍y␈z␡␀"
    assert safe_line("\x9b2J\x9d0;t\x9c") == "\\x9b2J\\x9d0;t\\x9c"
    assert safe_line("\u202eexe.txt\u202c") == "\\u202eexe.txt\\u202c"
    assert safe_line("\u2066a\u2069\u200e\u200f\u061c") == "\\u2066a\\u2069\\u200e\\u200f\\u061c"
    assert safe_line("line\u2028sep") == "line\\u2028sep"
    assert safe_line("bad\ud800half") == "bad\ufffdhalf"


def test_newlines_are_kept_only_in_blocks_and_tabs_expand_as_a_terminal_would():
    assert safe_line("one\ntwo") == "one␤two"
    assert safe_block("one\ntwo\r\n") == "one\ntwo␍\n"
    assert safe_line("a\tb") == "a       b"
    assert safe_block("k:\tv\n\tindented") == "k:      v\n        indented"


@pytest.mark.parametrize(
    "text", ["", "web-5d9c7-aaaaa", "café ✓ 日本語 🚀", "[bold]not markup here[/]", "a  b", "Ω≈ç√"]
)
def test_plain_text_is_unchanged(text):
    assert safe_line(text) == text
    assert safe_block(text) == text


def test_json_stays_the_same_value_and_becomes_inert():
    value = {"name": "x\x1b[2J\x9b\u202e\u2028\x7f", "plain": "ok"}
    doc = safe_json(orjson.dumps(value).decode())
    assert json.loads(doc) == value
    assert not FORBIDDEN.search(doc)
    assert safe_json('{"a": "plain"}') == '{"a": "plain"}'
    assert safe_json('{"a": "x\x7f"}') == '{"a": "x\\u007f"}'


@given(st.text())
def test_any_text_comes_out_inert_and_sanitising_twice_changes_nothing(text):
    once = safe_line(text)
    assert not FORBIDDEN.search(once)
    assert safe_line(once) == once
    block = safe_block(text)
    assert not FORBIDDEN.search(block.replace("\n", ""))
    assert block.count("\n") == text.count("\n")
