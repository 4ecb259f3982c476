"""Kubernetes resource quantities (`500m`, `1Gi`, `1e3`, `0.5`, `100Ki`, `1E`): parse and print.

The grammar is apimachinery's: a signed decimal number, then either a binary suffix (Ki..Ei), a
decimal SI suffix (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (`e3`, `E-2`). `1E` is an
exa, `1E3` an exponent. Values are exact (`Fraction`); metrics-server's own forms (`12345n`,
`4096Ki`) take an integer fast path because a poll of a big cluster parses tens of thousands.
One module for the simulated server's wire forms, the metrics poller and the tables.
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
    r"([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?"
)
# nanocores (`n`) for CPU and `Ki` for memory are what metrics-server sends
_NANO_FAST = {"n": 1, "u": 1_000, "m": 1_000_000}
_BYTES_FAST = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity (`"250m"` -> 1/4, `"1Ki"` -> 1024, `"1e3"` -> 1000)."""
    if isinstance(text, bool):
        raise QuantityError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        return Fraction(text)
    if not isinstance(text, str):
        raise QuantityError(f"not a quantity: {text!r}")
    m = _QUANTITY.fullmatch(text.strip())
    if not m:
        raise QuantityError(f"not a quantity: {text!r}")
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


def cpu_nanocores(text: str | int | float) -> int:
    """A CPU quantity in nanocores, rounded up (`"250m"` -> 250_000_000, `"2"` -> 2e9)."""
    if isinstance(text, str) and text[-1:] in _NANO_FAST and text[:-1].isdigit():
        return int(text[:-1]) * _NANO_FAST[text[-1]]
    v = parse_quantity(text) * 10**9
    return -((-v.numerator) // v.denominator)


def memory_bytes(text: str | int | float) -> int:
    """A memory quantity in bytes, rounded up (`"128Mi"` -> 134217728, `"1e3"` -> 1000)."""
    if isinstance(text, str) and text[-2:] in _BYTES_FAST and text[:-2].isdigit():
        return int(text[:-2]) * _BYTES_FAST[text[-2:]]
    v = parse_quantity(text)
    return -((-v.numerator) // v.denominator)


def format_cpu(nanocores: int) -> str:
    """CPU as `kubectl top` prints it: millicores (`120m`), at least `0m`."""
    return f"{max(0, round(nanocores / 1_000_000))}m"


def format_memory(nbytes: int) -> str:
    """Memory as `kubectl top` prints it: mebibytes (`64Mi`)."""
    return f"{max(0, round(nbytes / 2**20))}Mi"


def percent(usage: int, of: int | None) -> int | None:
    """Usage as a whole percentage of a request, limit or capacity (None when there is none)."""
    if not of or of <= 0:
        return None
    return round(usage * 100 / of)


def format_cpu_nanocores(nanocores: int) -> str:
    """CPU usage as metrics-server reports it (`"12345678n"`)."""
    return f"{int(nanocores)}n"


def format_memory_kib(nbytes: int) -> str:
    """Memory usage as metrics-server reports it (`"123456Ki"`)."""
    return f"{int(nbytes) // 1024}Ki"
