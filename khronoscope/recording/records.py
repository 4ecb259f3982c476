"""Encoding of what goes inside blocks: object deltas and the plain records around them."""

from __future__ import annotations

import sys
from typing import Any

import msgpack
import zstandard as zstd

from khronoscope.core.provenance import Actor, Provenance
from khronoscope.core.source import Bookmark, Gap, TypeState, TypeStatus
from khronoscope.core.types import ObjectKey, ResourceType
from khronoscope.recording import format as fmt

# Deltas are standard zstd frames (magic, content size and checksum included) so that any zstd
# implementation can read them given the dictionary, and so that decoding against the wrong base
# (a previous version lost in a corrupted block) fails its checksum instead of yielding garbage.
_DELTA_PARAMS = zstd.ZstdCompressionParameters(
    compression_level=1, write_checksum=True, write_content_size=True, write_dict_id=False
)
_packer = msgpack.Packer(use_bin_type=True)


def pack(value: Any) -> bytes:
    """msgpack bytes of a JSON-like value (the same encoding as the TemporalMap's)."""
    return _packer.pack(value)


def unpack(raw: bytes) -> Any:
    """Decode msgpack bytes made by `pack`."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def delta_encode(base: bytes, raw: bytes) -> bytes:
    """`raw` compressed with `base` (the previous version of the same object) as raw dictionary."""
    d = zstd.ZstdCompressionDict(base, dict_type=zstd.DICT_TYPE_RAWCONTENT)
    return zstd.ZstdCompressor(compression_params=_DELTA_PARAMS, dict_data=d).compress(raw)


def delta_decode(base: bytes, blob: bytes) -> bytes:
    """Undo `delta_encode`; raises zstd.ZstdError when `base` is not the version it was made on."""
    d = zstd.ZstdCompressionDict(base, dict_type=zstd.DICT_TYPE_RAWCONTENT)
    return zstd.ZstdDecompressor(dict_data=d).decompress(blob)


def type_to_list(rt: ResourceType) -> list[Any]:
    """A ResourceType as a msgpack-able array."""
    return [
        rt.group,
        rt.version,
        rt.plural,
        rt.kind,
        rt.namespaced,
        list(rt.short_names),
        list(rt.verbs),
        rt.singular,
        list(rt.categories),
    ]


def type_from_list(v: list[Any]) -> ResourceType:
    """Undo `type_to_list`."""
    g, ver, plural, kind, namespaced, shorts, verbs, singular, cats = v
    return ResourceType(
        g, ver, plural, kind, bool(namespaced), tuple(shorts), tuple(verbs), singular, tuple(cats)
    )


def key_to_list(key: ObjectKey | None) -> list[str] | None:
    """An optional key as an array."""
    return None if key is None else [key.type, key.namespace, key.name]


def key_from_list(v: list[str] | None) -> ObjectKey | None:
    """Undo `key_to_list`."""
    return None if v is None else ObjectKey(v[0], v[1], v[2])


def bookmark_record(kind: int, b: Bookmark, created: int) -> list[Any]:
    """A BOOKMARK record."""
    return [kind, b.t, b.id, b.label, key_to_list(b.key), created]


def bookmark_from(rec: list[Any]) -> Bookmark:
    """A Bookmark from a BOOKMARK record."""
    return Bookmark(t=rec[1], label=rec[3], key=key_from_list(rec[4]), id=rec[2])


def gap_from(rec: list[Any]) -> Gap:
    """A Gap from a GAP record."""
    return Gap(start=rec[1], end=rec[2], type=rec[3], reason=rec[4])


def status_from(rec: list[Any]) -> tuple[str, TypeStatus]:
    """(type name, TypeStatus) from a STATUS record."""
    try:
        state = TypeState(rec[3])
    except ValueError:
        state = TypeState.GONE
    return rec[2], TypeStatus(
        state=state, since=rec[1], error=rec[4], objects=rec[5], changes=rec[6]
    )


def provenance_record(p: Provenance) -> list[Any]:
    """A PROVENANCE record: only the fields that are set (readers default the others)."""
    fields: dict[str, Any] = {"origin": p.origin}
    a = p.actor
    if a is not None:
        fields["user"] = a.user
        if a.groups:
            fields["groups"] = list(a.groups)
        if a.user_agent:
            fields["user_agent"] = a.user_agent
        if a.source_ips:
            fields["source_ips"] = list(a.source_ips)
    for name, value in (
        ("verb", p.verb),
        ("subresource", p.subresource),
        ("rv", p.resource_version),
        ("audit_id", p.audit_id),
        ("note", p.note),
    ):
        if value:
            fields[name] = value
    if p.unknown:
        fields["unknown"] = True
    if p.mark:
        fields["mark"] = True
    return [fmt.PROVENANCE, p.t, p.key.type, p.key.namespace, p.key.name, fields]


_actors: dict[tuple[Any, ...], Actor] = {}


def _actor(fields: dict[str, Any]) -> Actor:
    """The record's actor, shared with every other record naming the same one (a recording
    of a million imported versions names a few dozen actors)."""
    ident = (
        fields["user"],
        tuple(fields.get("groups") or ()),
        fields.get("user_agent") or "",
        tuple(fields.get("source_ips") or ()),
    )
    try:
        found = _actors.get(ident)
    except TypeError:  # a malformed record (a list where text belongs)
        found = None
        ident = ()
    if found is None:
        found = Actor(
            str(fields["user"]),
            tuple(str(g) for g in fields.get("groups") or ()),
            str(fields.get("user_agent") or ""),
            tuple(str(ip) for ip in fields.get("source_ips") or ()),
        )
        if ident and len(_actors) < 10_000:
            _actors[ident] = found
    return found


def provenance_from(
    r: list[Any], keys: dict[ObjectKey, ObjectKey] | None = None
) -> Provenance | None:
    """A Provenance from a PROVENANCE record (None when the record is malformed); `keys`
    shares one key object among the records of an object."""
    fields = r[5] if len(r) > 5 else None
    if not isinstance(fields, dict):
        return None
    actor = _actor(fields) if "user" in fields else None
    key = ObjectKey(r[2], r[3], r[4])
    if keys is not None:
        key = keys.setdefault(key, key)
    return Provenance(
        t=r[1],
        key=key,
        origin=sys.intern(str(fields.get("origin") or "")),
        actor=actor,
        verb=sys.intern(str(fields.get("verb") or "")),
        subresource=sys.intern(str(fields.get("subresource") or "")),
        resource_version=str(fields.get("rv") or ""),
        audit_id=str(fields.get("audit_id") or ""),
        unknown=bool(fields.get("unknown")),
        mark=bool(fields.get("mark")),
        note=str(fields.get("note") or ""),
    )
