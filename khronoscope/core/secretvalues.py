"""The values of a Secret as text that could be quoted elsewhere (an annotation, a label): each
`data` value encoded and decoded, each `stringData` value as written and encoded. Ingest and
export look for them, so a copy of a value kept by some tool never reaches a recording or Git.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from typing import Any

# shorter values would match by chance in unrelated text; a 1-3 character secret is no secret
_MIN_MATCH = 4
_FINGERPRINT = re.compile(r"^<redacted:[0-9a-f]{12}>$")


def is_fingerprint(value: Any) -> bool:
    """True for a value a session replaced by its keyed fingerprint at ingest."""
    return isinstance(value, str) and _FINGERPRINT.match(value) is not None


def secret_values(obj: dict[str, Any]) -> set[str]:
    """Every value of a Secret as text, encoded and decoded, long enough to search for."""
    out: set[str] = set()
    for field in ("data", "stringData"):
        entries = obj.get(field)
        if not isinstance(entries, dict):
            continue
        for value in entries.values():
            if not isinstance(value, str) or is_fingerprint(value):
                continue
            out.add(value)
            if field == "data":
                with contextlib.suppress(binascii.Error, ValueError):
                    out.add(base64.b64decode(value, validate=True).decode("utf-8"))
            else:
                out.add(base64.b64encode(value.encode("utf-8")).decode("ascii"))
    return {v for v in out if len(v) >= _MIN_MATCH}
