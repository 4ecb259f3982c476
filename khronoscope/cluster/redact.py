"""Secret values never enter the store: each is replaced at ingest by a short keyed fingerprint.

The fingerprint keeps a change visible as a change (a rotated password gets a new fingerprint)
without revealing the value. It is keyed with this user's fingerprint key (a random file in the
state directory, owner-only, never written into a recording), so a recording alone cannot be
used to test guesses of a short password offline, while every session of this user gives a
value the same fingerprint: a live export and a later drift, or two exports to one branch,
compare Secrets instead of seeing every one "rotated". Where the key cannot be kept (a
read-only home), a session falls back to a key of its own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from khronoscope.core.files import create_new, is_plain_file
from khronoscope.core.secretvalues import secret_values

SECRETS_TYPE = "secrets"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PREFIX = "<redacted:"
KEY_FILE = "secret-fingerprint.key"
_KEY_BYTES = 32


def fingerprint_key(state_dir: Path | None = None) -> bytes:
    """This user's key for Secret fingerprints (`KEY_FILE` in the state directory, created
    once, 0600, never through a symlink); a fresh random key when it cannot be read or made."""
    if state_dir is None:
        from platformdirs import user_state_path

        state_dir = user_state_path("khronoscope")
    path = state_dir / KEY_FILE
    try:
        if not path.exists() and not path.is_symlink():
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            # written whole beside it, then linked in: two sessions starting at once both
            # read the one key that won, never a half-written file
            tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(6)}.tmp")
            with os.fdopen(create_new(tmp), "wb") as f:
                f.write(os.urandom(_KEY_BYTES))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        if is_plain_file(path):
            key = path.read_bytes()
            if len(key) == _KEY_BYTES:
                return key
    except OSError:
        pass  # a read-only or shared home: this session's own key (fingerprints still hide)
    return os.urandom(_KEY_BYTES)


class SecretRedactor:
    """Replaces the values of a Secret's `data` and `stringData` (and the copy of them that
    `kubectl apply` leaves in an annotation) with fingerprints."""

    def __init__(self, salt: bytes | None = None) -> None:
        # the user's key is read (or made) with the first Secret: a session refused for a bad
        # kubeconfig writes nothing
        self._salt = salt

    def fingerprint(self, value: Any) -> str:
        """`<redacted:0123456789ab>`: not valid base64, so applying it back fails loudly."""
        if self._salt is None:
            self._salt = fingerprint_key()
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
