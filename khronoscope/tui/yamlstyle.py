"""YAML highlighted once, as a Rich Text the detail pane keeps.

Rich's `Syntax` lexes its code again on every render, and Textual renders a Static several
times on the way to its first frame (measure, height, lines): a pod's YAML was lexed six times
per open. The same lexer and theme, run once.
"""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text

THEME = "ansi_dark"


def highlighted_yaml(text: str) -> Text:
    """`text` (already made safe for the terminal) styled as YAML, one line per line."""
    syntax = Syntax(text, "yaml", theme=THEME, background_color="default")
    out = syntax.highlight(text)
    if not text.endswith("\n"):
        out.remove_suffix("\n")  # the lexer ends every text with a newline
    out.no_wrap = True
    out.overflow = "crop"  # as Syntax drew it: long lines run on, not folded
    return out
