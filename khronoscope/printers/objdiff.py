"""The diff of one object between two moments as a user reads it: unified YAML, Secret values
redacted, and the noise every write changes (resourceVersion, managedFields, heartbeat times)
hidden unless asked for. No UI here: the diff screen colours the lines.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from khronoscope.core.types import ObjectKey
from khronoscope.printers.redact import redact
from khronoscope.printers.yamlfmt import to_yaml
from khronoscope.temporal.diff import changed_paths

# condition timestamps that move on every heartbeat without meaning anything happened
_NOISY_CONDITION_FIELDS = ("lastHeartbeatTime", "lastProbeTime")
_NOISE_PATH = re.compile(
    r"^metadata\.(resourceVersion|managedFields)(\b|\[|\.|$)"
    r"|^status\.conditions\[[^\]]+\]\.(lastHeartbeatTime|lastProbeTime)$"
)
NOISE_LABEL = "resourceVersion, managedFields, heartbeat times"


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


def meaningful_paths(key: ObjectKey, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The changed field paths a user cares about (no noise), spec first, status last."""
    paths = changed_paths(redact(old, key.type, True), redact(new, key.type, True))
    return sorted((p for p in paths if not is_noise(p)), key=path_rank)


@dataclass
class ObjectDiff:
    """A unified diff of two versions, what it hides, and the paths that changed."""

    lines: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """True when nothing shown differs (hidden noise may still differ)."""
        return not self.lines


def screen_copy(key: ObjectKey, obj: dict[str, Any] | None, show_all: bool) -> Any:
    """What the diff may show of one version: Secret values redacted, noise hidden."""
    if obj is None:
        return None
    shown = redact(obj, key.type, managed_fields=True)
    return shown if show_all else without_noise(shown)


def object_diff(
    key: ObjectKey,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    old_label: str,
    new_label: str,
    show_all: bool = False,
    context: int = 3,
) -> ObjectDiff:
    """Unified YAML diff from `old` to `new` (None: the object did not exist)."""
    a, b = screen_copy(key, old, show_all), screen_copy(key, new, show_all)
    a_lines = to_yaml(a).splitlines() if a is not None else []
    b_lines = to_yaml(b).splitlines() if b is not None else []
    lines = list(
        difflib.unified_diff(a_lines, b_lines, old_label, new_label, n=context, lineterm="")
    )
    paths: list[str] = []
    hidden: list[str] = []
    if old is not None and new is not None:
        for p in changed_paths(redact(old, key.type, True), redact(new, key.type, True)):
            (hidden if is_noise(p) and not show_all else paths).append(p)
        paths.sort(key=path_rank)
    return ObjectDiff(lines, paths, hidden)
