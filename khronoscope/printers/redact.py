"""What the screen may show of an object: Secret values never, managedFields on request.

The session replaces Secret values with keyed fingerprints at ingest (`<redacted:0123abcd…>`,
keyed with the recording user's key, never in a recording): those are shown as they are, so
a rotated password shows as a changed fingerprint in history, diffs and YAML. A value that was
kept (a recording made with --keep-secret-values) is shown as a fingerprint keyed with a salt
of this process only: the same value reads the same while the app runs, and no screenshot can
be used to test guesses. The copy kubectl keeps in last-applied-configuration gets the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from khronoscope.core.secretvalues import is_fingerprint

PLACEHOLDER = "<redacted>"
# this process's key for values that were recorded in plain text (never stored anywhere)
_SALT = os.urandom(16)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_FIELDS = ("data", "stringData")


def is_secret(obj: dict[str, Any]) -> bool:
    """True for a core/v1 Secret (by kind, so a recording's objects are judged alike)."""
    return obj.get("kind") == "Secret" and str(obj.get("apiVersion", "v1")) == "v1"


def redact(
    obj: dict[str, Any], type_name: str = "", managed_fields: bool = False
) -> dict[str, Any]:
    """A copy of `obj` fit for the screen: Secret values replaced by fingerprints (keys kept),
    the same inside last-applied-configuration, managedFields dropped unless asked for."""
    out = dict(obj)
    secret = type_name == "secrets" or is_secret(obj)
    if secret:
        _redact_values(out)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = dict(meta)
        if not managed_fields:
            meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations = dict(annotations)
            annotations[LAST_APPLIED] = _redact_last_applied(annotations[LAST_APPLIED], secret)
            meta["annotations"] = annotations
        out["metadata"] = meta
    return out


def fingerprint(value: Any) -> str:
    """What the screen shows for one Secret value: its stored fingerprint, or one keyed with
    this process's salt (a plain value never reaches the screen)."""
    if is_fingerprint(value):
        return str(value)
    raw = value.encode() if isinstance(value, str) else repr(value).encode()
    return f"<redacted:{hashlib.blake2b(raw, digest_size=6, key=_SALT).hexdigest()}>"


def _redact_values(obj: dict[str, Any]) -> None:
    for name in _SECRET_FIELDS:
        values = obj.get(name)
        if isinstance(values, dict):
            obj[name] = {k: fingerprint(v) for k, v in values.items()}
        elif values is not None:
            obj[name] = PLACEHOLDER


def _redact_last_applied(text: Any, secret: bool) -> Any:
    """Redact the Secret inside the annotation; an unreadable one on a Secret goes entirely."""
    if not isinstance(text, str):
        return PLACEHOLDER if secret else text
    try:
        applied = json.loads(text)
    except ValueError:
        return PLACEHOLDER if secret else text
    if not isinstance(applied, dict):
        return PLACEHOLDER if secret else text
    if secret or is_secret(applied) or applied.get("kind") == "Secret":
        applied = dict(applied)
        _redact_values(applied)
        return json.dumps(applied, separators=(",", ":"))
    return text
