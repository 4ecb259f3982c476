"""Encoding of what goes inside blocks: object deltas and the plain records around them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
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
    """Undo `delta_encode`; raises zstd.ZstdError when `base` is not the version it was made on,
    or when the frame claims more than an object can be (never allocated)."""
    declared = zstd.frame_content_size(blob)
    if declared > fmt.MAX_OBJECT:
        raise zstd.ZstdError(f"a delta claiming {declared} bytes")
    d = zstd.ZstdCompressionDict(base, dict_type=zstd.DICT_TYPE_RAWCONTENT)
    return zstd.ZstdDecompressor(dict_data=d).decompress(
        blob, max_output_size=fmt.MAX_OBJECT, allow_extra_data=False
    )


_MAP_MARKERS = frozenset((*range(0x80, 0x90), 0xDE, 0xDF))
_CHECK_BUFFER = fmt.MAX_OBJECT


class ObjectChecker:
    """Tells whether bytes are exactly one msgpack map (an object version) without decoding
    them: skipping is about a tenth of the cost of unpacking, and one reused unpacker saves
    making one per version. Not thread-safe: one per reader."""

    def __init__(self) -> None:
        self._unpacker = msgpack.Unpacker(max_buffer_size=_CHECK_BUFFER)

    def valid(self, raw: bytes) -> bool:
        """True when `raw` is one whole msgpack map and nothing after it."""
        if not raw or raw[0] not in _MAP_MARKERS or len(raw) > _CHECK_BUFFER:
            return False
        u = self._unpacker
        start = u.tell()
        try:
            u.feed(raw)
            u.skip()
            whole = u.tell() - start == len(raw)
        except (ValueError, msgpack.UnpackException, msgpack.BufferFull):
            whole = False
        if not whole:  # whatever is left in it would spoil the next check
            self._unpacker = msgpack.Unpacker(max_buffer_size=_CHECK_BUFFER)
        return whole


def valid_object(raw: bytes) -> bool:
    """True when `raw` is exactly one msgpack map (an object version)."""
    return ObjectChecker().valid(raw)


# --- record shapes ------------------------------------------------------------------------------
# A block whose checksum is right can still hold records that are not what the format says (a
# crafted file): every record is checked against the shape of its kind before anything reads it.
# Trailing elements are allowed (a later writer may add some); unknown kinds are allowed (skipped).

_INT64 = 1 << 63


def _time(v: Any) -> bool:
    return type(v) is int and 0 <= v < _INT64


def _count(v: Any) -> bool:
    return type(v) is int and 0 <= v < _INT64


def _str(v: Any) -> bool:
    return type(v) is str


def _opt_str(v: Any) -> bool:
    return v is None or type(v) is str


def _bytes(v: Any) -> bool:
    return type(v) is bytes


def _opt_count(v: Any) -> bool:
    return v is None or _count(v)


def _key(v: Any) -> bool:
    return v is None or (type(v) is list and len(v) == 3 and all(type(x) is str for x in v))


def _numbers(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str and type(x) in (int, float) for k, x in v.items())


def _map(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str for k in v)


def _counts(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str and _count(x) for k, x in v.items())


def _rtype(v: Any) -> bool:
    if type(v) is not list or len(v) < 9:
        return False
    g, ver, plural, kind, namespaced, shorts, verbs, singular, cats = v[:9]
    return (
        all(type(x) is str for x in (g, ver, plural, kind, singular))
        and type(namespaced) is bool
        and all(type(x) is list and all(type(y) is str for y in x) for x in (shorts, verbs, cats))
    )


def _rtypes(v: Any) -> bool:
    return type(v) is list and all(_rtype(x) for x in v)


def _ledger_keys(v: Any) -> bool:
    if type(v) is not dict:
        return False
    for type_name, spaces in v.items():
        if type(type_name) is not str or type(spaces) is not dict:
            return False
        for ns, names in spaces.items():
            if type(ns) is not str or type(names) is not list:
                return False
            for n in names:
                if type(n) is str:
                    continue
                if not (type(n) is list and len(n) == 2 and type(n[0]) is str and _count(n[1])):
                    return False
    return True


_SHAPES: dict[int, tuple[Callable[[Any], bool], ...]] = {
    fmt.PUT_FULL: (_time, _str, _str, _str, _bytes),
    fmt.PUT_DELTA: (_time, _str, _str, _str, _bytes),
    fmt.DELETE: (_time, _str, _str, _str),
    fmt.BOOKMARK: (_time, _count, _str, _key, _time),
    fmt.BOOKMARK_DEL: (_time, _count),
    fmt.LOG: (_time, _str, _str, _str, _str),
    fmt.METRIC: (_time, _str, _str, _str, _numbers),
    fmt.GAP: (_time, _time, _str, _str),
    fmt.STATUS: (_time, _str, _str, _opt_str, _count, _count),
    fmt.TYPES: (_time, _rtypes),
    fmt.INFO: (_time, _map),
    fmt.LOG_NOTE: (_time, _str, _str, _str, _str),
    fmt.PROVENANCE: (_time, _str, _str, _str, _map),
    fmt.RECONSTRUCTED: (_time, _str, _str, _str, _bytes),
    fmt.LEDGER: (_time, _opt_count, _counts, _ledger_keys),
    fmt.CLOSE: (_time,),
    fmt.KF_BEGIN: (_time, _count, _count, _count),
    fmt.KF_OBJECT: (_time, _str, _str, _str, _bytes),
}


def valid_record(r: Any) -> bool:
    """True when `r` has the shape its kind says (unknown kinds: any array starting with one)."""
    if type(r) is not list or not r or type(r[0]) is not int:
        return False
    kind = r[0]
    if 0 <= kind <= fmt.DELETE or kind == fmt.KF_OBJECT:
        # the bulk of every file, checked inline (a third of the generic check's cost)
        n = len(r)
        t = r[1] if n > 1 else None
        return (
            n >= (5 if kind == fmt.DELETE else 6)
            and type(t) is int
            and 0 <= t < _INT64
            and type(r[2]) is str
            and type(r[3]) is str
            and type(r[4]) is str
            and (kind == fmt.DELETE or type(r[5]) is bytes)
        )
    shape = _SHAPES.get(kind)
    if shape is None:
        return True
    if len(r) <= len(shape):
        return False
    return all(check(v) for check, v in zip(shape, r[1:], strict=False))


def ledger_record(
    t: int,
    back: int | None,
    totals: Mapping[str, int],
    keys: Mapping[ObjectKey, int],
) -> list[Any]:
    """A LEDGER record: changes per type written before this block, and the objects the last
    block with changes changed (names grouped by type and namespace: a few bytes per object),
    that block starting `back` changes before this one (a distance, which retention's
    renumbering leaves as it is)."""
    grouped: dict[str, dict[str, list[Any]]] = {}
    for key in sorted(keys):
        n = keys[key]
        grouped.setdefault(key.type, {}).setdefault(key.namespace, []).append(
            key.name if n == 1 else [key.name, n]
        )
    return [fmt.LEDGER, t, back, dict(totals), grouped]


def ledger_keys(rec: list[Any]) -> dict[ObjectKey, int]:
    """The objects a LEDGER says the previous block changed, with how many versions each."""
    out: dict[ObjectKey, int] = {}
    for type_name, spaces in rec[4].items():
        for ns, names in spaces.items():
            for n in names:
                name, count = (n, 1) if type(n) is str else (n[0], n[1])
                key = ObjectKey(type_name, ns, name)
                out[key] = out.get(key, 0) + count
    return out


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
