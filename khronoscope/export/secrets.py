"""What becomes of a Secret in an export: redacted (default), omitted, or in plain text (asked).

Redacted keeps the object and its sorted `data` keys, every value replaced by something that is
not valid base64 (so `kubectl apply` of an export fails loudly instead of writing an empty
password): the fingerprint the session stored in place of the value (`<redacted:0123abcd…>`,
keyed with the recording user's key, which is never written into a recording or Git), so a
rotated password is a change and a commit; a value the recording kept in plain text becomes the
fixed marker.
"""

from __future__ import annotations

import enum
from typing import Any

from khronoscope.core.secretvalues import is_fingerprint, secret_values

__all__ = ["MARKER", "SECRET_TYPE", "SecretsMode", "prepare", "secret_values"]

MARKER = "<redacted>"
SECRET_TYPE = "secrets"


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
        sanitized["data"] = {
            k: data[k] if is_fingerprint(data[k]) else MARKER for k in sorted(data)
        }
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
