"""The declared comparison: Git names some fields, the API server fills in the rest.

Only the fields present in Git are compared (list items matched by `name`, else position), and
resource quantities compare by value (`0.5` == `500m`, `1Gi` == `1024Mi`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any


def project(have: Any, want: Any) -> Any:
    """`have` reduced to the fields `want` names (list items matched by name, else position)."""
    if isinstance(have, dict) and isinstance(want, dict):
        return {k: project(have[k], want[k]) for k in want if k in have}
    if isinstance(have, list) and isinstance(want, list):
        hn, wn = _named(have), _named(want)
        if hn is not None and wn is not None:
            return [project(item, wn[name]) if name in wn else item for name, item in hn.items()]
        if len(have) == len(want):
            return [project(h, w) for h, w in zip(have, want, strict=True)]
    return have


def _named(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in items):
        return None
    named = {x["name"]: x for x in items}
    return named if len(named) == len(items) else None


_QUANTITY = re.compile(
    r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)
_FACTORS = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
}
_QUANTITY_PARENTS = frozenset({"requests", "limits", "capacity", "hard", "overhead"})


def normalize(value: Any) -> Any:
    """Resource quantities as canonical numbers, so `0.5` and `500m` compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _QUANTITY_PARENTS and isinstance(v, dict):
                out[k] = {q: _quantity(x) for q, x in v.items()}
            else:
                out[k] = normalize(v)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def _quantity(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    m = _QUANTITY.match(str(value).strip())
    if not m:
        return value
    try:
        amount = Decimal(m.group(1)) * _FACTORS[m.group(2)]
    except InvalidOperation:
        return value
    return f"{amount.normalize():f}"
