"""Properties of the APR check: the bound it computes at the minimum amount holds for every
larger amount, and a product that saves never quotes a loan above its cap."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lendbridge.kit.errors import ValidationFailed
from lendbridge.products.pricing import engine_terms
from lendbridge.products.validation import (
    REFERENCE_START,
    SAMPLE_STARTS,
    rounding_bound,
    start_dependent,
    validate_product,
)
from lendbridge.servicing.schedule import apr, build_schedule
from tests.products.factories import product

PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def percent(low: int, high: int) -> st.SearchStrategy[str]:
    """Percent strings with two decimals between low and high."""
    return st.integers(low * 100, high * 100).map(lambda n: f"{n // 100}.{n % 100:02d}")


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    frequency = draw(st.sampled_from(["monthly", "biweekly", "weekly", "single"]))
    method = draw(
        st.sampled_from(["equal_installment", "equal_principal", "flat", "interest_only", "bullet"])
    )
    if frequency == "single":
        terms = sorted(draw(st.sets(st.integers(7, 90), min_size=1, max_size=2)))
    else:
        terms = sorted(draw(st.sets(st.integers(1, 24), min_size=1, max_size=2)))
    minimum = draw(st.integers(50_00, 5_000_00))
    fixed = draw(st.sampled_from([0, 0, 1_00, 10_00]))
    amortising = frequency != "single" and method in (
        "equal_installment",
        "equal_principal",
        "flat",
    )
    grace = draw(st.integers(0, min(terms) - 1)) if amortising and draw(st.booleans()) else 0
    return {
        "frequency": frequency,
        "method": method,
        "allowed_terms": terms,
        "interest_period": draw(st.sampled_from(["repayment", "daily"])),
        "day_count": draw(st.sampled_from(["ACT/365F", "ACT/360", "30/360", "ACT/ACT"])),
        # Near the cap, where rounding decides.
        "annual_rate_percent": draw(percent(15, 24)),
        "min_amount": max(minimum, 3 * fixed + 1),
        "max_amount": max(minimum, 3 * fixed + 1) + draw(st.integers(0, 50_000_00)),
        "upfront_fee": {"fixed": fixed, "percent": draw(st.sampled_from(["0", "0.3", "1"]))},
        "installment_fee": {
            "fixed": draw(st.sampled_from([0, 0, 50])),
            "percent": draw(st.sampled_from(["0", "0", "0.05"])),
        },
        "installment_multiple": (
            draw(st.sampled_from([1, 100, 1000]))
            if method == "equal_installment" and frequency != "single"
            else 1
        ),
        "principal_grace": grace,
        "interest_grace": draw(st.integers(0, 1)) if frequency != "single" else 0,
    }


@PROPERTY
@given(definitions(), st.data())
def test_rounding_bounds_at_both_ends_hold_for_every_amount_between(
    values: dict[str, Any], data: st.DataObject
) -> None:
    """The claim the APR check rests on: if the padded APRs of the minimum and the maximum
    amount are within a cap, the real APR of every amount between them is."""
    candidate = product(**values)
    term = data.draw(st.sampled_from(candidate.allowed_terms))
    start = data.draw(st.sampled_from(SAMPLE_STARTS))
    ends = [
        build_schedule(engine_terms(candidate, amount, term, start))
        for amount in (candidate.min_amount, candidate.max_amount)
    ]
    # A cap just above the real APRs of the two ends, where rounding decides.
    margin = data.draw(st.sampled_from(["0", "0.01", "0.05", "0.3"]))
    cap = max(apr(s).apr for s in ends) + Decimal(margin)
    bounds = [rounding_bound(candidate, s, cap) for s in ends]
    assume(all(b is None or b <= cap for b in bounds))
    amount = data.draw(st.integers(candidate.min_amount, candidate.max_amount))
    found = apr(build_schedule(engine_terms(candidate, amount, term, start))).apr
    assert found <= cap, (amount, term, start)


@PROPERTY
@given(definitions(), st.data())
def test_a_product_that_saves_quotes_every_amount_within_its_cap(
    values: dict[str, Any], data: st.DataObject
) -> None:
    candidate = product(**values)
    try:
        validate_product(candidate)
    except ValidationFailed:
        return
    term = data.draw(st.sampled_from(candidate.allowed_terms))
    amount = data.draw(st.integers(candidate.min_amount, candidate.max_amount))
    start: dt.date = (
        data.draw(st.sampled_from(SAMPLE_STARTS)) if start_dependent(candidate) else REFERENCE_START
    )
    found = apr(build_schedule(engine_terms(candidate, amount, term, start))).apr
    assert found <= 24, (amount, term, start)
