"""The export's YAML style written straight from a dict, byte for byte as PyYAML's emitter does.

PyYAML's pure-Python emitter turns an object into events, then characters, at a few milliseconds
per manifest: most of a range export's time. This writes the same text in one walk over the
dict. Style decisions stay PyYAML's: a scalar that is not obviously plain asks PyYAML's own
scalar analysis and resolver. What this does not cover (floats, keys that are not strings, a key
too long for `key: value`) makes `emit` return None, and yamlfmt falls back to PyYAML. Tests
compare both writers on a zoo of scalars and on random documents.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Any

import yaml
from yaml.emitter import Emitter

TOP_KEYS = ("apiVersion", "kind", "metadata")
META_KEYS = ("name", "namespace")

# Scalars some parser reads as something other than a string. PyYAML's own (YAML 1.1) resolver
# already forces quotes on most; these add YAML 1.2 / go-yaml readings (1e3, 0o17, 08, 1_000...)
# and a few 1.1 forms PyYAML misses. Quoting too much costs two characters; too little, a bug.
_TRICKY = re.compile(
    r"""(?x)^(?:
      [-+]?[0-9_]*\.?[0-9_]+(?:[eE][-+]?[0-9_]+)?     # ints and floats, any base-10 form
    | [-+]?[0-9][0-9_]*\.(?:[eE][-+]?[0-9_]+)?        # 1.  1.e3
    | [-+]?0[bB][01_]+ | [-+]?0[oO]?[0-7_]+ | [-+]?0[xX][0-9a-fA-F_]+
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?   # sexagesimal (YAML 1.1)
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    | y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    | ~|null|Null|NULL|=|<<
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\s].*)?    # dates and timestamps
    )$""",
)
_ODD_BREAKS = frozenset("\r\x85\u2028\u2029")


def requested_style(text: str) -> str | None:
    """The style the export asks for a string: `"` (escapes), `|` (literal block) or None (plain
    if the emitter can)."""
    if _ODD_BREAKS.intersection(text):
        # YAML folds these line breaks in plain and block scalars; only escapes keep them
        return '"'
    if "\n" in text:
        # the emitter falls back to a quoted style when a literal block cannot hold the text
        return "|"
    if _TRICKY.match(text):
        return '"'
    return None


def ordered_items(mapping: dict[str, Any], first: tuple[str, ...]) -> list[tuple[Any, Any]]:
    """The keys named in `first` (in that order), then the others sorted."""
    head = [(k, mapping[k]) for k in first if k in mapping]
    rest = sorted(((k, v) for k, v in mapping.items() if k not in first), key=lambda kv: str(kv[0]))
    return head + rest


class _Unsupported(Exception):
    """Raised inside the walk for what only PyYAML writes."""


_EMITTER = Emitter(io.StringIO(), allow_unicode=True)  # its scalar analysis reads no state
_RESOLVER = yaml.resolver.Resolver()  # SafeDumper's implicit resolvers (read-only use)
_STR_TAG = "tag:yaml.org,2002:str"
# the emitter counts the tag (`!!str`, 5 characters) in a simple key's 128-character limit
_MAX_SIMPLE_KEY = 128 - len("!!str")
_PRINTABLE = re.compile(r"[\x20-\x7e]+").fullmatch
_LITERAL_SAFE = re.compile(r"[\n\x20-\x7e]*").fullmatch
_PLAIN_UNSAFE_FIRST = frozenset("#,[]{}&*!|>'\"%@` ")
_BREAKS = "\n\x85\u2028\u2029"
_CACHED_LEN = 200  # short scalars repeat (kinds, labels, images): their style is cached
_PLAIN, _SINGLE, _DOUBLE, _LITERAL, _COMPLEX_KEY = "", "'", '"', "|", "?"


def _obviously_plain(text: str) -> bool:
    """True when PyYAML's analysis would allow a plain block scalar (checked without it)."""
    return bool(
        _PRINTABLE(text)
        and text[0] not in _PLAIN_UNSAFE_FIRST
        and text[-1] != " "
        and not (text[0] in "-?:" and (len(text) == 1 or text[1] == " "))
        and ": " not in text
        and " #" not in text
        and text[-1] != ":"
        and not text.startswith(("---", "..."))
    )


def _style(text: str, key: bool) -> str:
    """PyYAML's choice of style for a string in block context (`choose_scalar_style`)."""
    requested = requested_style(text)
    if requested is None and _obviously_plain(text):
        if key and len(text) >= _MAX_SIMPLE_KEY:
            return _COMPLEX_KEY
        resolved = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
        return _PLAIN if resolved == _STR_TAG else _SINGLE
    if requested == "|" and not key and _LITERAL_SAFE(text) and " \n" not in text:
        return _LITERAL if text[-1] != " " else _DOUBLE
    a = _EMITTER.analyze_scalar(text)
    if key and (len(a.scalar) >= _MAX_SIMPLE_KEY or a.empty or a.multiline):
        return _COMPLEX_KEY
    if requested == '"':
        return _DOUBLE
    if (
        requested is None
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG
        and a.allow_block_plain
    ):
        return _PLAIN
    if requested == "|" and not key and a.allow_block:
        return _LITERAL
    if requested is None and a.allow_single_quoted and not (key and a.multiline):
        return _SINGLE
    return _DOUBLE


_cached_style = lru_cache(maxsize=1 << 15)(_style)

_ESCAPES = {
    "\0": "0",
    "\x07": "a",
    "\x08": "b",
    "\x09": "t",
    "\x0a": "n",
    "\x0b": "v",
    "\x0c": "f",
    "\x0d": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _double_quoted(text: str) -> str:
    # write_double_quoted with allow_unicode and no line width
    if _PRINTABLE(text) and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        if ch in '"\\\x85\u2028\u2029\ufeff' or not (
            "\x20" <= ch <= "\x7e" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
        ):
            if ch in _ESCAPES:
                out.append("\\" + _ESCAPES[ch])
            elif ch <= "\xff":
                out.append(f"\\x{ord(ch):02X}")
            elif ch <= "\uffff":
                out.append(f"\\u{ord(ch):04X}")
            else:
                out.append(f"\\U{ord(ch):08X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class _Writer:
    """One document's text, built as a list of pieces."""

    def __init__(self) -> None:
        self.out: list[str] = []
        # a literal block kept its final line breaks (`|+`): ending the document on it
        # makes the emitter close the document with `...`
        self.open_ended = False

    def key(self, key: Any) -> None:
        if type(key) is not str:
            raise _Unsupported
        style = _cached_style(key, True) if len(key) <= _CACHED_LEN else _style(key, True)
        if style == _PLAIN:
            self.out.append(key)
        elif style == _SINGLE:
            self.out.append("'" + key.replace("'", "''") + "'")
        elif style == _DOUBLE:
            self.out.append(_double_quoted(key))
        else:
            raise _Unsupported
        self.out.append(":")

    def scalar(self, value: Any, indent: int) -> None:
        """A scalar after `key:` or `-` (a space first); `indent` is the container's."""
        out = self.out
        kind = type(value)
        self.open_ended = False
        if kind is str:
            if len(value) <= _CACHED_LEN:
                style = _cached_style(value, False)
            else:
                style = _style(value, False)
            if style == _PLAIN:
                out.append(" " + value + "\n")
            elif style == _SINGLE:
                out.append(" '" + value.replace("'", "''") + "'\n")
            elif style == _DOUBLE:
                out.append(" " + _double_quoted(value) + "\n")
            else:
                self.literal(value, indent + 2)
        elif kind is bool:
            out.append(" true\n" if value else " false\n")
        elif kind is int:
            out.append(f" {value}\n")
        elif value is None:
            out.append(" null\n")
        else:
            raise _Unsupported

    def literal(self, text: str, indent: int) -> None:
        hints = "2" if text[0] in " " + _BREAKS else ""
        if text[-1] not in _BREAKS:
            hints += "-"
        elif len(text) == 1 or text[-2] in _BREAKS:
            hints += "+"
            self.open_ended = True
        pad = " " * indent
        lines = text.split("\n")
        body = "\n".join(pad + line if line else line for line in lines)
        self.out.append(f" |{hints}\n{body}" + ("" if text[-1] == "\n" else "\n"))

    def value(self, value: Any, indent: int, in_sequence: bool = False) -> None:
        """The value of a key at column `indent` (or an item of a sequence at `indent`)."""
        kind = type(value)
        if kind is dict:
            if not value:
                self.out.append(" {}\n")
                self.open_ended = False
            elif in_sequence:
                self.out.append(" ")
                self.mapping(value, (), indent + 2, inline=True)
            else:
                self.out.append("\n")
                self.mapping(value, (), indent + 2)
        elif kind is list:
            if not value:
                self.out.append(" []\n")
                self.open_ended = False
            elif in_sequence:
                self.out.append(" ")
                self.sequence(value, indent + 2, inline=True)
            else:
                # kubectl style: a list under a key is not indented further
                self.out.append("\n")
                self.sequence(value, indent)
        else:
            self.scalar(value, indent)

    def mapping(
        self, mapping: dict[Any, Any], first: tuple[str, ...], indent: int, inline: bool = False
    ) -> None:
        pad = " " * indent
        for i, (key, value) in enumerate(ordered_items(mapping, first)):
            if i or not inline:
                self.out.append(pad)
            self.key(key)
            if first is TOP_KEYS and key == "metadata" and type(value) is dict and value:
                self.out.append("\n")
                self.mapping(value, META_KEYS, indent + 2)
            else:
                self.value(value, indent)

    def sequence(self, items: list[Any], indent: int, inline: bool = False) -> None:
        pad = " " * indent
        for i, item in enumerate(items):
            if i or not inline:
                self.out.append(pad)
            self.out.append("-")
            self.value(item, indent, in_sequence=True)


def emit(obj: Any, top_level: bool) -> str | None:
    """The YAML text of a non-empty dict as yamlfmt's PyYAML path writes it; None when this
    writer does not cover something in it (the caller then uses PyYAML)."""
    if type(obj) is not dict or not obj:
        return None
    writer = _Writer()
    try:
        writer.mapping(obj, TOP_KEYS if top_level else (), 0)
    except _Unsupported:
        return None
    if writer.open_ended:
        writer.out.append("...\n")
    return "".join(writer.out)
