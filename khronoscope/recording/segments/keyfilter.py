"""Which objects changed in a segment: a Bloom filter over their keys.

`history KEY` reads only the segments whose filter may hold KEY. Ten bits and seven probes per
key give about 1% false positives (a segment read for nothing), never a false negative. The
probes come from one BLAKE2b digest of the key (double hashing), so a filter is reproducible by
any implementation: see docs/recording-format.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from khronoscope.core.types import ObjectKey

BITS_PER_KEY = 10
PROBES = 7


def _hashes(key: ObjectKey) -> tuple[int, int]:
    digest = hashlib.blake2b(
        f"{key.type}\x00{key.namespace}\x00{key.name}".encode(), digest_size=16
    ).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1


def build(keys: Iterable[ObjectKey]) -> bytes:
    """A filter holding `keys` (an empty filter for none)."""
    keys = list(keys)
    m = max(64, len(keys) * BITS_PER_KEY)
    m += -m % 8
    bits = bytearray(m // 8)
    for key in keys:
        h1, h2 = _hashes(key)
        for i in range(PROBES):
            pos = (h1 + i * h2) % m
            bits[pos >> 3] |= 1 << (pos & 7)
    return bytes(bits)


def may_hold(flt: bytes, key: ObjectKey) -> bool:
    """False when `key` is certainly not in the filter."""
    m = len(flt) * 8
    if not m:
        return False
    h1, h2 = _hashes(key)
    for i in range(PROBES):
        pos = (h1 + i * h2) % m
        if not flt[pos >> 3] & (1 << (pos & 7)):
            return False
    return True
