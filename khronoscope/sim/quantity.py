"""Kubernetes resource quantities (`250m`, `128Mi`, `1Gi`, `1.5`, `2e3`): parse and format.

Values are exact (`fractions.Fraction`) so that `format(parse(q))` round-trips like the
apimachinery `resource.Quantity` canonical form does for the common cases.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$"
)


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity (`"250m"` -> 1/4, `"1Ki"` -> 1024)."""
    if isinstance(text, int | float):
        return Fraction(text)
    m = _QUANTITY.match(text.strip())
    if not m:
        raise QuantityError(f"quantities must match the regular expression: {text!r}")
    number, exponent, suffix = m.groups()
    value = Fraction(number)
    if exponent:
        value *= Fraction(10) ** int(exponent[1:])
    elif suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix:
        value *= _DECIMAL[suffix]
    return value


def format_quantity(value: Fraction | int, binary: bool = False) -> str:
    """Canonical text of a value: binary suffixes (`128Mi`) when asked and exact, else decimal."""
    value = Fraction(value)
    if value == 0:
        return "0"
    if binary and value.denominator == 1:
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            scaled = value / _BINARY[suffix]
            if scaled.denominator == 1:
                return f"{scaled.numerator}{suffix}"
    for suffix in ("E", "P", "T", "G", "M", "k", "", "m", "u", "n"):
        scaled = value / _DECIMAL[suffix]
        if scaled.denominator == 1:
            return f"{scaled.numerator}{suffix}"
    # finer than a nano: round up like apimachinery does
    nanos = -((-value * 10**9) // 1)
    return f"{nanos}n"


def cpu_nanocores(text: str) -> int:
    """A CPU quantity in nanocores (`"250m"` -> 250_000_000)."""
    return int(parse_quantity(text) * 10**9)


def memory_bytes(text: str) -> int:
    """A memory quantity in bytes, rounded up (`"128Mi"` -> 134217728)."""
    v = parse_quantity(text)
    return -((-v.numerator) // v.denominator)


def format_cpu_nanocores(nanocores: int) -> str:
    """CPU usage as metrics-server reports it (`"12345678n"`)."""
    return f"{int(nanocores)}n"


def format_memory_kib(nbytes: int) -> str:
    """Memory usage as metrics-server reports it (`"123456Ki"`)."""
    return f"{int(nbytes) // 1024}Ki"
