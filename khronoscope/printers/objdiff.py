"""What changed in one object between two versions, as every reader prints it: `khronoscope diff`
and `history --diff`, the app's diff screen (`D`), history and "what changed" lists.

One place decides: Secret values are redacted (a rotated value shows as changed, never as
what it was or became), the noise every write changes (resourceVersion, managedFields,
heartbeat times) is hidden unless asked for, and the changed field paths are those of the
lines shown, spec first. No UI here: the screen only colours the lines.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.printers.redact import PLACEHOLDER, is_secret, redact
from khronoscope.printers.yamlfmt import to_yaml
from khronoscope.temporal.diff import changed_paths

CHANGED = f"{PLACEHOLDER[:-1]}, changed>"
"""A Secret value that differs from the older version's (which reads PLACEHOLDER)."""

ADDED, DELETED, MODIFIED, UNCHANGED = "added", "deleted", "modified", "unchanged"

# condition timestamps that move on every heartbeat without meaning anything happened
_NOISY_CONDITION_FIELDS = ("lastHeartbeatTime", "lastProbeTime")
_NOISE_PATH = re.compile(
    r"^metadata\.(resourceVersion|managedFields)(\b|\[|\.|$)"
    r"|^status\.conditions\[[^\]]+\]\.(lastHeartbeatTime|lastProbeTime)$"
)
NOISE_LABEL = "resourceVersion, managedFields, heartbeat times"
_SECRET_FIELDS = ("data", "stringData")


def is_noise(path: str) -> bool:
    """True for a changed path (as `changed_paths` names it) that diffs hide by default."""
    return bool(_NOISE_PATH.match(path))


def without_noise(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` without the fields every write changes."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
    status = out.get("status")
    if isinstance(status, dict) and isinstance(status.get("conditions"), list):
        for cond in status["conditions"]:
            if isinstance(cond, dict):
                for name in _NOISY_CONDITION_FIELDS:
                    cond.pop(name, None)
    return out


_TIMESTAMP_LEAF = re.compile(r"\.last[A-Z]\w*Time$")


def path_rank(path: str) -> int:
    """What a reader looks for first: the spec (or data), then metadata, then status, and
    condition timestamps (`lastUpdateTime`...) last: they move with every status write."""
    top = path.split(".", 1)[0].split("[", 1)[0]
    if _TIMESTAMP_LEAF.search(path):
        return 3
    return 2 if top == "status" else 1 if top == "metadata" else 0


def comparable(
    key: ObjectKey,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    show_secrets: bool = False,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The two versions as they may be printed (managedFields kept: noise is the caller's
    choice): Secret values redacted unless `show_secrets`, and a value that differs from the
    older version's marked CHANGED, so a rotation stays visible without showing a value."""
    if show_secrets:
        return old, new
    a = redact(old, key.type, managed_fields=True) if old is not None else None
    b = redact(new, key.type, managed_fields=True) if new is not None else None
    if old is None or new is None or b is None:
        return a, b
    if key.type == "secrets" or is_secret(new):
        for name in _SECRET_FIELDS:
            before, after = old.get(name), new.get(name)
            if isinstance(before, dict) and isinstance(after, dict):
                changed = {k for k, v in after.items() if k in before and before[k] != v}
                if changed:
                    b[name] = {k: CHANGED if k in changed else v for k, v in b[name].items()}
    return a, b


def meaningful_paths(key: ObjectKey, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The changed field paths a user cares about (no noise), spec first, status last."""
    a, b = comparable(key, old, new)
    return sorted((p for p in changed_paths(a, b) if not is_noise(p)), key=path_rank)


@dataclass
class ObjectDiff:
    """A unified diff of two versions, what it hides, and the paths that changed."""

    lines: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    existed: tuple[bool, bool] = (True, True)

    @property
    def equal(self) -> bool:
        """True when nothing shown differs (hidden noise may still differ)."""
        return not self.lines

    @property
    def change(self) -> str:
        """ADDED, DELETED, MODIFIED or UNCHANGED (noise only counts as unchanged)."""
        before, after = self.existed
        if before != after:
            return ADDED if after else DELETED
        return UNCHANGED if self.equal else MODIFIED


def object_diff(
    key: ObjectKey,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    old_label: str,
    new_label: str,
    show_all: bool = False,
    context: int = 3,
    show_secrets: bool = False,
) -> ObjectDiff:
    """Unified YAML diff from `old` to `new` (None: the object did not exist)."""
    a, b = comparable(key, old, new, show_secrets)
    a_lines = to_yaml(a if show_all else without_noise(a)).splitlines() if a is not None else []
    b_lines = to_yaml(b if show_all else without_noise(b)).splitlines() if b is not None else []
    lines = list(
        difflib.unified_diff(a_lines, b_lines, old_label, new_label, n=context, lineterm="")
    )
    paths: list[str] = []
    hidden: list[str] = []
    if a is not None and b is not None:
        for p in changed_paths(a, b):
            (hidden if is_noise(p) and not show_all else paths).append(p)
        paths.sort(key=path_rank)
    return ObjectDiff(lines, paths, hidden, (old is not None, new is not None))
