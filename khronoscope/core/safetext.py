"""Text from a cluster or a recording made safe for a terminal: shown, never obeyed.

Names, labels, annotations, event and condition messages, log lines and field managers are
written by anyone who can write to the cluster, and a recording file can hold anything. A
terminal obeys the control characters in what it is sent: ESC ] 52 writes the clipboard,
ESC [2J clears the screen, CR and backspace overwrite cells, the 8-bit C1 CSI (U+009B) does what
ESC [ does, and U+202E reverses the text after it. So every such string passes through here on
its way to a Rich Text, a Strip or a printed line:

- C0 controls and DEL become their Unicode control pictures (ESC shows as ␛, CR as ␍: one cell
  each, so columns still line up); C1 controls, which have no picture, show as `\\x9b`;
- bidi embeddings, overrides, isolates and marks show as `\\u202e` (never passed on);
- a tab becomes spaces to the next multiple of 8 columns, as a terminal would draw it (a raw tab
  moves the cursor past cells the view believes it drew);
- a newline stays a newline only in `safe_block`, for views that show multi-line text.

Pure functions, no UI import: the TUI and the command-line output use the same ones.
"""

from __future__ import annotations

import re

# Bidi formatting characters: LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM ALM.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# Line and paragraph separators: a terminal does not break a line on them, Rich and editors do.
_SEPARATORS = "\u2028\u2029"
# Lone surrogates (from a crafted file): not text; writing them would fail to encode.
_SURROGATES = "\ud800-\udfff"

_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS}{_SURROGATES}]")
_UNSAFE_BLOCK = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS}{_SURROGATES}]")
_UNSAFE_JSON = re.compile(f"[\x7f-\x9f{_BIDI}{_SEPARATORS}]")


def _visible_form(ch: str) -> str:
    code = ord(ch)
    if code == 0x0A:
        return "\u2424"  # ␤ reads as a newline better than the LF picture ␊
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


_CODES = (
    *range(0x20),
    *range(0x7F, 0xA0),
    *(0x061C, 0x200E, 0x200F, 0x2028, 0x2029),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    *range(0xD800, 0xE000),
)
_VISIBLE: dict[str, str] = {chr(c): _visible_form(chr(c)) for c in _CODES}


def _replace(match: re.Match[str]) -> str:
    return _VISIBLE[match.group()]


def safe_line(text: str) -> str:
    """`text` as one line of a terminal: every control shown visibly (a newline as ␤), bidi
    controls neutralised, tabs expanded."""
    if text.isprintable():  # the common case: nothing to do (no Cc, Cf, Zl, Zp or Cs in it)
        return text
    if "\t" in text:
        text = text.expandtabs(8)
    return _UNSAFE_LINE.sub(_replace, text)


def safe_block(text: str) -> str:
    """Multi-line `text` for a view that shows line breaks: like `safe_line`, but a newline
    stays a newline (tabs expand per line)."""
    if text.isprintable():
        return text
    if "\t" in text:
        text = text.expandtabs(8)
    return _UNSAFE_BLOCK.sub(_replace, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_json(document: str) -> str:
    """A serialised JSON document with the characters JSON allows raw but a terminal obeys
    (DEL, C1, bidi controls, line separators) written as `\\uXXXX` escapes: the same value for
    a parser, inert on a screen. (Serialisers already escape C0 and lone surrogates.)"""
    if document.isascii():
        return document.replace("\x7f", "\\u007f")
    return _UNSAFE_JSON.sub(_json_escape, document)


def is_safe(text: str) -> bool:
    """True when `text` would be drawn unchanged by `safe_line`."""
    return text.isprintable() or _UNSAFE_LINE.search(text) is None
