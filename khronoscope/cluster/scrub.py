"""Text from a server, a proxy or a credential plugin, made fit for one printed line.

An error body can echo the request (a proxy printing the Authorization header it rejected), a
plugin's stderr can hold the token it failed to hand over, a proxy URL can carry a password. Such
text reaches the terminal, the recording's gaps and statuses, and bug reports: every credential
in it is replaced by `***` (the ones khronoscope holds, even a fragment of one, and anything
shaped like a bearer token, a JWT, a private key or a URL's password), and it is cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CHARS = 300
"""The most of a server's or plugin's text one error line carries."""

MASK = "***"
# the shortest run of a known secret that is recognised as a fragment of it
_MIN_FRAGMENT = 8

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a whole PEM block (private keys, client certificates), even one cut short
    (re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)", re.S), MASK),
    # `Authorization: Bearer xxx`, `Basic xxx`
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    # a JWT (service-account tokens, OIDC id tokens)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.?[A-Za-z0-9_-]*"), MASK),
    # a bootstrap token (abcdef.0123456789abcdef)
    (re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b"), MASK),
    # user:password@ in a URL
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I), rf"\1{MASK}@"),
    # token=..., "password": "...", api_key: ..., client-key-data: ...
    (
        re.compile(
            r"(?i)\b((?:access[_-]?|id[_-]?|refresh[_-]?|bearer[_-]?)?token|password|passwd|"
            r"secret|api[_-]?key|client[_-]key(?:[_-]data)?|authorization)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\s\"',;}&]+"
        ),
        rf"\1\2{MASK}",
    ),
)


def scrub(text: str, secrets: Iterable[str] = (), limit: int = MAX_CHARS) -> str:
    """`text` as one line of at most `limit` characters with every credential masked:
    `secrets` (and any run of 8+ characters shared with one) and whatever looks like one."""
    text = _mask_known(text[: limit * 8], [s for s in secrets if s and len(s) >= _MIN_FRAGMENT])
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mask_known(text: str, known: list[str]) -> str:
    # every stretch of `text` made of 8-character pieces of a secret: a body cut in the middle
    # of a token, or a token glued to other text, still gives nothing of it away
    if not known:
        return text
    n = _MIN_FRAGMENT
    pieces = {s[i : i + n] for s in known for i in range(len(s) - n + 1)}
    covered = [False] * len(text)
    for i in range(len(text) - n + 1):
        if text[i : i + n] in pieces:
            covered[i : i + n] = [True] * n
    out: list[str] = []
    for i, ch in enumerate(text):
        if not covered[i]:
            out.append(ch)
        elif i == 0 or not covered[i - 1]:
            out.append(MASK)
    return "".join(out)
