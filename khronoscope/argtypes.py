"""Argument types that refuse bad numbers at parse time (one line, exit 2, via argparse).

`float("nan")`, `float("inf")` and `float("1e999")` all parse: a `type=float` option takes them
and something downstream divides, sleeps or loops on them. These types say what is accepted.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number(
    low: float, high: float, *, low_open: bool = False, integer: bool = False
) -> Callable[[str], float]:
    """An argparse `type` for a finite number in [low, high] (`low_open`: (low, high])."""

    def convert(text: str) -> float:
        try:
            value: float = int(text, 10) if integer else float(text)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {kind}") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            bound = "more than" if low_open else "at least"
            raise argparse.ArgumentTypeError(
                f"{text[:40]!r} is out of range: must be {bound} {low:g} and at most {high:g}"
            )
        return value

    convert.__name__ = "integer" if integer else "number"  # argparse names it on a ValueError
    return convert
