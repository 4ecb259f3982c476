"""What becomes of a Secret in an export: redacted (default), omitted, or in plain text (asked).

Redacted keeps the object and its sorted `data` keys, every value replaced by a marker that is not
valid base64 (so `kubectl apply` of an export fails loudly instead of writing an empty password).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
from typing import Any

MARKER = "<redacted>"
SECRET_TYPE = "secrets"
# shorter values would match by chance in unrelated text; a 1-3 character secret is no secret
_MIN_MATCH = 4


class SecretsMode(enum.StrEnum):
    """How Secrets are exported."""

    REDACT = "redact"
    OMIT = "omit"
    PLAINTEXT = "plaintext"


def prepare(sanitized: dict[str, Any], mode: SecretsMode) -> dict[str, Any] | None:
    """The Secret as it may be exported under `mode` (None: not exported). Modifies `sanitized`."""
    if mode is SecretsMode.OMIT:
        return None
    if mode is SecretsMode.PLAINTEXT:
        return sanitized
    values = secret_values(sanitized)
    data = sanitized.get("data")
    if isinstance(data, dict):
        sanitized["data"] = {k: MARKER for k in sorted(data)}
    sanitized.pop("stringData", None)
    meta = sanitized.get("metadata")
    if isinstance(meta, dict) and values:
        # an annotation or label quoting a value (a copy of the manifest kept by some tool)
        # must not carry it into Git; last-applied-configuration is already gone by now
        for field in ("annotations", "labels"):
            entries = meta.get(field)
            if isinstance(entries, dict):
                for name, text in entries.items():
                    if isinstance(text, str) and any(v in text for v in values):
                        entries[name] = MARKER
    return sanitized


def secret_values(obj: dict[str, Any]) -> set[str]:
    """Every value of a Secret as text, encoded and decoded, long enough to search for."""
    out: set[str] = set()
    for field in ("data", "stringData"):
        entries = obj.get(field)
        if not isinstance(entries, dict):
            continue
        for value in entries.values():
            if not isinstance(value, str):
                continue
            out.add(value)
            if field == "data":
                with contextlib.suppress(binascii.Error, ValueError):
                    out.add(base64.b64decode(value, validate=True).decode("utf-8"))
            else:
                out.add(base64.b64encode(value.encode("utf-8")).decode("ascii"))
    return {v for v in out if len(v) >= _MIN_MATCH}
