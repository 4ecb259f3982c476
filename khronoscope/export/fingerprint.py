"""A fingerprint of an exported manifest: two manifests with the same fingerprint have the same
file, so a range export need not write YAML again for a change the export does not show (a
status update, a new resourceVersion: a quarter of a busy cluster's changes or more).

The fingerprint hashes the manifest's msgpack encoding with exact types: unlike `==` (where
`1 == True == 1.0`), it tells apart values that YAML writes differently. What msgpack cannot
encode exactly (a subclass, an integer above 64 bits, a lone surrogate) has no fingerprint
and is always rendered.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgpack


def manifest_fingerprint(manifest: dict[str, Any]) -> bytes | None:
    """16 bytes that change whenever the manifest's YAML would; None when not computable."""
    try:
        packed = msgpack.packb(manifest, use_bin_type=True, strict_types=True)
    except (TypeError, ValueError, OverflowError):
        return None
    return hashlib.blake2b(packed, digest_size=16).digest()
