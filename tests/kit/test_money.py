"""Money arithmetic: exact decimal conversion, half-even rounding, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendbridge.kit.money import MAX_MINOR_UNITS, convert, to_major


def test_to_major_is_exact():
    assert to_major(123_456, "CNY") == Decimal("1234.56")
    assert to_major(MAX_MINOR_UNITS, "CNY") == Decimal("92233720368547758.07")
    assert to_major(500, "JPY") == Decimal(500)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        (1_000, Decimal("7.1234"), 7_123),  # 10.00 USD -> 71.234 -> 71.23
        (1, Decimal("0.5"), 0),  # 0.005 -> 0.00 (half-even keeps the even digit)
        (3, Decimal("0.5"), 2),  # 0.015 -> 0.02
        (100, Decimal("150.25"), 150),  # USD 1.00 -> JPY 150.25 -> 150
    ],
)
def test_convert_rounds_half_even_to_the_target_minor_unit(amount, rate, expected):
    target = "JPY" if rate == Decimal("150.25") else "CNY"
    assert convert(amount, rate, "USD", target) == expected


@given(
    amount=st.integers(min_value=1, max_value=10**15),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=6),
)
def test_convert_is_within_half_a_minor_unit_of_the_exact_value(amount, rate):
    exact = Decimal(amount) * rate
    assert abs(Decimal(convert(amount, rate, "USD", "CNY")) - exact) <= Decimal("0.5")
