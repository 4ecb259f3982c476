"""Secret values never enter the store: each is replaced at ingest by a short keyed fingerprint.

The fingerprint keeps a change visible as a change (a rotated password gets a new fingerprint)
without revealing the value. It is keyed with a random per-session salt so that a recording
cannot be used to test guesses of a short password offline.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from khronoscope.core.secretvalues import secret_values

SECRETS_TYPE = "secrets"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PREFIX = "<redacted:"


class SecretRedactor:
    """Replaces the values of a Secret's `data` and `stringData` (and the copy of them that
    `kubectl apply` leaves in an annotation) with fingerprints."""

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt if salt is not None else os.urandom(16)

    def fingerprint(self, value: Any) -> str:
        """`<redacted:0123456789ab>`: not valid base64, so applying it back fails loudly."""
        raw = value.encode() if isinstance(value, str) else repr(value).encode()
        digest = hashlib.blake2b(raw, digest_size=6, key=self._salt).hexdigest()
        return f"{PREFIX}{digest}>"

    def __call__(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of the Secret `obj` without its values (the input is not modified): also
        without an annotation or label that quotes one (a copy kept by some tool)."""
        out = dict(obj)
        values = secret_values(obj)
        for field in ("data", "stringData"):
            entries = obj.get(field)
            if isinstance(entries, dict):
                out[field] = {k: self.fingerprint(v) for k, v in entries.items()}
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            meta = dict(meta)
            for name in ("annotations", "labels"):
                entries = meta.get(name)
                if not isinstance(entries, dict):
                    continue
                entries = dict(entries)
                for k, text in entries.items():
                    quoting = isinstance(text, str) and any(v in text for v in values)
                    if k == LAST_APPLIED or quoting:
                        entries[k] = self.fingerprint(text)
                meta[name] = entries
            out["metadata"] = meta
        return out


def is_redacted(value: Any) -> bool:
    """True for a fingerprint made by SecretRedactor."""
    return isinstance(value, str) and value.startswith(PREFIX) and value.endswith(">")
