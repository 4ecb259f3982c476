"""What the screen may show of an object: Secret values never, managedFields on request.

The session already replaces Secret values with fingerprints at ingest; the views still hide
them (and the copy kubectl keeps in the last-applied-configuration annotation) so no code path
can put a value, or a fingerprint an attacker could test guesses against, on screen.
"""

from __future__ import annotations

import json
from typing import Any

from khronoscope.core.secretvalues import secret_values

PLACEHOLDER = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_FIELDS = ("data", "stringData")

__all__ = ["LAST_APPLIED", "PLACEHOLDER", "is_secret", "redact", "secret_values"]


def is_secret(obj: dict[str, Any]) -> bool:
    """True for a core/v1 Secret (by kind, so a recording's objects are judged alike)."""
    return obj.get("kind") == "Secret" and str(obj.get("apiVersion", "v1")) == "v1"


def redact(
    obj: dict[str, Any], type_name: str = "", managed_fields: bool = False
) -> dict[str, Any]:
    """A copy of `obj` fit for the screen: Secret values replaced by a placeholder (keys kept),
    the same inside last-applied-configuration and in any label or annotation of the Secret
    quoting a value, managedFields dropped unless asked for."""
    out = dict(obj)
    secret = type_name == "secrets" or is_secret(obj)
    values = secret_values(obj) if secret else set()
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
        if values:
            # a copy of the manifest some tool keeps, a note quoting the password
            for name in ("annotations", "labels"):
                entries = meta.get(name)
                if isinstance(entries, dict):
                    meta[name] = {
                        k: PLACEHOLDER if isinstance(v, str) and any(x in v for x in values) else v
                        for k, v in entries.items()
                    }
        out["metadata"] = meta
    return out


def _redact_values(obj: dict[str, Any]) -> None:
    for name in _SECRET_FIELDS:
        values = obj.get(name)
        if isinstance(values, dict):
            obj[name] = dict.fromkeys(values, PLACEHOLDER)
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
