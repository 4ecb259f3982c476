"""Kubernetes quantities as metrics-server, requests and limits write them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from khronoscope.core.quantity import (
    QuantityError,
    cpu_nanocores,
    format_cpu,
    format_memory,
    memory_bytes,
    parse_quantity,
    percent,
)

CASES = [
    ("500m", Fraction(1, 2)),
    ("0.5", Fraction(1, 2)),
    ("1", Fraction(1)),
    ("1Gi", Fraction(2**30)),
    ("100Ki", Fraction(102400)),
    ("128Mi", Fraction(128 * 2**20)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1.5e-3", Fraction(3, 2000)),
    ("2e+2", Fraction(200)),
    ("1E", Fraction(10**18)),  # an exa, not an exponent
    ("1Ei", Fraction(2**60)),
    ("1k", Fraction(1000)),
    ("1M", Fraction(10**6)),
    ("1G", Fraction(10**9)),
    ("1T", Fraction(10**12)),
    ("1P", Fraction(10**15)),
    ("250u", Fraction(1, 4000)),
    ("12345678n", Fraction(12345678, 10**9)),
    (".5", Fraction(1, 2)),
    ("5.", Fraction(5)),
    ("+2", Fraction(2)),
    ("-1", Fraction(-1)),
    (" 3 ", Fraction(3)),
    (2, Fraction(2)),
    (0.25, Fraction(1, 4)),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_parse(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "Mi", "1mi", "1KiB", "1.2.3", "1 Gi", "e3", "1e", "abc"])
def test_not_quantities(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "nanocores"),
    [
        ("500m", 500_000_000),
        ("2", 2_000_000_000),
        ("12345678n", 12_345_678),
        ("250u", 250_000),
        ("0.1", 100_000_000),
        ("1e-9", 1),
        ("1e-10", 1),  # rounded up, like the API server
        ("1.5", 1_500_000_000),
    ],
)
def test_cpu(text, nanocores):
    assert cpu_nanocores(text) == nanocores


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("4096Ki", 4096 * 1024),
        ("1Gi", 2**30),
        ("1e3", 1000),
        ("1.5Mi", 1572864),
        ("1G", 10**9),
        ("100m", 1),  # fractional bytes round up
        ("129M", 129_000_000),
    ],
)
def test_memory(text, nbytes):
    assert memory_bytes(text) == nbytes


def test_printing_like_kubectl_top():
    assert format_cpu(123_456_789) == "123m"
    assert format_cpu(0) == "0m"
    assert format_memory(64 * 2**20 + 1000) == "64Mi"
    assert percent(50, 200) == 25
    assert percent(50, None) is None and percent(50, 0) is None
