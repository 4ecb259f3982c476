"""Where each object lives in an export tree: `<ns>/<type>/<name>.yaml`, `_cluster/...`.

Names are percent-encoded (every byte outside `[a-z0-9.-]` as uppercase `%XX`): Kubernetes
forbids `%` in names, so the encoding is injective, and names that differ only in case stay
distinct on case-insensitive filesystems. A name whose encoding is too long for one path
component is truncated and given a hash suffix after `_`, a character the encoding never
produces, so a hashed name cannot collide with an encoded one.

A directory (a namespace, a type) never starts with `.`: one named `.git`, `..` or like the
export's own metadata file would clash with Git or with the export, so its dot is encoded too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from khronoscope.core.types import ObjectKey
from khronoscope.errors import UsageError

CLUSTER_DIR = "_cluster"
METADATA_FILE = ".khronoscope-export.yaml"
SUFFIX = ".yaml"
# 255 bytes is the limit of one path component on common filesystems; leave room for the
# suffix and for editors' backup names (`.name.yaml.swp`, `name.yaml~`)
MAX_COMPONENT = 200
_HASH_CHARS = 16
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-")
_ALL_SAFE = re.compile(r"[a-z0-9.-]*").fullmatch


def encode(name: str) -> str:
    """Percent-encode every UTF-8 byte of `name` outside `[a-z0-9.-]` (uppercase hex)."""
    if _ALL_SAFE(name):
        return name
    out: list[str] = []
    for byte in name.encode("utf-8"):
        out.append(chr(byte) if byte in _SAFE else f"%{byte:02X}")
    return "".join(out)


def decode(component: str) -> str | None:
    """The name an encoded component stands for; None for a hashed (truncated) one."""
    if "_" in component:
        return None
    raw = bytearray()
    i = 0
    while i < len(component):
        ch = component[i]
        if ch == "%":
            raw.append(int(component[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(ch))
            i += 1
    return raw.decode("utf-8")


def encode_dir(name: str) -> str:
    """A directory component: `encode`, with a leading `.` encoded too (`.git` -> `%2Egit`)."""
    enc = encode(name)
    return "%2E" + enc[1:] if enc.startswith(".") else enc


def file_component(name: str) -> str:
    """The file name (without suffix) of an object name, hashed when too long."""
    enc = encode(name)
    if len(enc) <= MAX_COMPONENT:
        return enc
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    keep = MAX_COMPONENT - _HASH_CHARS - 1
    head: list[str] = []
    size = 0
    # whole characters only: never cut through a %XX escape or a UTF-8 sequence
    for ch in name:
        part = encode(ch)
        if size + len(part) > keep:
            break
        head.append(part)
        size += len(part)
    return f"{''.join(head)}_{digest}"


def type_dir(type_name: str) -> str:
    """The directory of a resource type: the bare plural for core, `<plural>.<group>` else."""
    return encode_dir(type_name)


def path_for(key: ObjectKey, prefix: str = "") -> str:
    """The repository path of an object's file."""
    scope = encode_dir(key.namespace) if key.namespace else CLUSTER_DIR
    rel = f"{scope}/{type_dir(key.type)}/{file_component(key.name)}{SUFFIX}"
    return join(prefix, rel)


def join(prefix: str, rel: str) -> str:
    """`rel` under `prefix` ("" for the repository root)."""
    return f"{prefix}/{rel}" if prefix else rel


def normalize_prefix(prefix: str, what: str = "the export prefix") -> str:
    """A prefix as a clean relative path without trailing slash ("" for the root).

    UsageError (`what` names the option) for one that leaves the repository or enters `.git`.
    """
    parts = [p for p in prefix.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or prefix.startswith(("/", "\\")):
        raise UsageError(f"{what} {prefix[:100]!r} must be a directory inside the repository")
    if any(p.lower() == ".git" for p in parts):
        raise UsageError(f"{what} {prefix[:100]!r} must not be inside .git")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in prefix):
        raise UsageError(f"{what} {prefix[:100]!r} holds a control character")
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class ParsedPath:
    """What an export path says about its object: namespace ("" cluster-scoped), type dir, file."""

    namespace: str
    type_dir: str
    name: str | None


def parse(rel: str) -> ParsedPath | None:
    """Read a path relative to the prefix; None if it is not an object file of the layout."""
    parts = rel.split("/")
    if len(parts) != 3 or not parts[2].endswith(SUFFIX):
        return None
    scope, tdir, fname = parts
    namespace = "" if scope == CLUSTER_DIR else decode(scope)
    if namespace is None:
        return None
    return ParsedPath(namespace, tdir, decode(fname[: -len(SUFFIX)]))
