"""The declared comparison: Git names some fields, the API server fills in the rest.

Only the fields present in Git are compared (list items matched by `name`, else position), and
resource quantities compare by value (`0.5` == `500m`, `1Gi` == `1024Mi`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from khronoscope.core.quantity import QuantityError, parse_quantity


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
    try:
        # via str: YAML's `cpu: 0.1` is a float, and Fraction(0.1) is not 100m
        amount = parse_quantity(str(value))
    except QuantityError:
        return value
    exact = Decimal(amount.numerator) / Decimal(amount.denominator)
    return f"{exact.normalize():f}"
