"""Kubernetes quantities parse exactly and print in canonical form."""

from __future__ import annotations

from fractions import Fraction

import pytest

from khronoscope.core.quantity import (
    QuantityError,
    cpu_nanocores,
    format_quantity,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value", "canonical"),
    [
        ("250m", Fraction(1, 4), "250m"),
        ("1.5", Fraction(3, 2), "1500m"),
        ("2", Fraction(2), "2"),
        ("128Mi", Fraction(128 * 2**20), "128Mi"),
        ("1Gi", Fraction(2**30), "1Gi"),
        ("1536Mi", Fraction(1536 * 2**20), "1536Mi"),
        ("2e3", Fraction(2000), "2k"),
        ("100n", Fraction(1, 10**7), "100n"),
        ("1k", Fraction(1000), "1k"),
    ],
)
def test_parse_and_format(text: str, value: Fraction, canonical: str) -> None:
    assert parse_quantity(text) == value
    assert format_quantity(value, binary=text.endswith("i")) == canonical


def test_units_used_by_metrics() -> None:
    assert cpu_nanocores("250m") == 250_000_000
    assert memory_bytes("128Mi") == 134_217_728
    assert memory_bytes("1k") == 1000


@pytest.mark.parametrize("bad", ["", "12x", "Mi", "1.2.3", "--1"])
def test_bad_quantities_raise(bad: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(bad)
