"""Channel fee arithmetic, property-tested: integer minor units, half-up rounding of the
basis points, the cap respected, never decreasing with the amount."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lendbridge.payments.settlement import fee_of

amounts = st.integers(min_value=1, max_value=10**15)
channels = st.builds(
    SimpleNamespace,
    fee_fixed=st.integers(min_value=0, max_value=10_000),
    fee_bps=st.integers(min_value=0, max_value=10_000),
    fee_max=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
)


@given(channels, amounts)
def test_fee_is_exact_and_capped(channel: Any, amount: int) -> None:
    fee = fee_of(channel, amount)
    assert isinstance(fee, int)
    exact = Decimal(amount) * channel.fee_bps / Decimal(10_000)
    expected = channel.fee_fixed + int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if channel.fee_max is not None:
        expected = min(expected, channel.fee_max)
    assert fee == expected
    assert fee >= 0


@given(channels, amounts, amounts)
def test_fee_never_decreases_with_the_amount(channel: Any, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert fee_of(channel, low) <= fee_of(channel, high)
