"""From a product version to the schedule engine's terms, and quotes: amounts and terms
outside the product and loans above the cap are refused, naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lendbridge.kit.errors import ValidationFailed
from lendbridge.products.pricing import quote, terms_for
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    apr,
    build_schedule,
)
from tests.products.factories import product

START = dt.date(2026, 3, 31)


def test_terms_carry_every_term_of_the_product() -> None:
    priced = product(
        frequency="biweekly",
        method="equal_principal",
        interest_period="daily",
        day_count="ACT/360",
        annual_rate_percent="15.5",
        principal_grace=1,
        interest_grace=1,
        upfront_fee={"fixed": 10_00, "percent": "0.5", "deducted": False},
        installment_fee={"fixed": 1_00, "percent": "0.01"},
    )
    terms = terms_for(priced, 5_000_00, 6, START)
    assert (terms.principal, terms.term, terms.start, terms.currency) == (5_000_00, 6, START, "CNY")
    assert terms.frequency is Frequency.BIWEEKLY
    assert terms.method is Method.EQUAL_PRINCIPAL
    assert terms.interest_period is InterestPeriod.DAILY
    assert terms.day_count is DayCount.ACT_360
    assert terms.annual_rate_percent == Decimal("15.5")
    assert (terms.principal_grace, terms.interest_grace) == (1, 1)
    assert (terms.upfront_fee_fixed, terms.upfront_fee_percent) == (10_00, Decimal("0.5"))
    assert terms.upfront_fee_deducted is False
    assert (terms.installment_fee_fixed, terms.installment_fee_percent) == (1_00, Decimal("0.01"))
    assert terms_for(product(), 5_000_00, 12, START, anchor_day=31).anchor_day == 31


@pytest.mark.parametrize(
    ("amount", "term", "start", "field"),
    [
        (999_99, 12, START, "amount"),
        (20_000_01, 12, START, "amount"),
        (True, 12, START, "amount"),
        (5_000_00, 9, START, "term"),
        (5_000_00, 12, dt.date(9999, 6, 1), "start"),
    ],
)
def test_outside_the_product_is_refused(amount: int, term: int, start: dt.date, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        terms_for(product(), amount, term, start)
    assert [e.field for e in caught.value.errors] == [field]


def test_the_refusal_says_what_is_allowed() -> None:
    with pytest.raises(ValidationFailed) as caught:
        terms_for(product(), 50_00, 12, START)
    assert "between 1000.00 CNY (100000 minor units) and 20000.00 CNY" in str(caught.value)
    with pytest.raises(ValidationFailed) as caught:
        terms_for(product(), 5_000_00, 24, START)
    assert "must be one of 3, 6, 12 (installments)" in str(caught.value)
    single = product(frequency="single", method="bullet", allowed_terms=[14, 30])
    with pytest.raises(ValidationFailed) as caught:
        terms_for(single, 5_000_00, 7, START)
    assert "must be one of 14, 30 (days)" in str(caught.value)


def test_a_quote_is_the_engine_schedule_and_apr() -> None:
    result = quote(product(), 12_000_00, 12, START)
    schedule = build_schedule(terms_for(product(), 12_000_00, 12, START))
    assert result.schedule == schedule
    assert result.rates == apr(schedule)
    assert result.schedule.installments[0].due_date == dt.date(2026, 4, 30)


def test_a_quote_above_the_cap_is_refused() -> None:
    """The backstop behind the save-time check: a loan is never quoted above the cap."""
    unchecked = product(annual_rate_percent="30")  # never saved: it would have been refused
    with pytest.raises(ValidationFailed) as caught:
        quote(unchecked, 5_000_00, 12, START)
    error = caught.value
    assert [e.field for e in error.errors] == ["amount"]
    assert Decimal(error.extra["apr"]) > 24
    assert "above product TEST-EI's maximum of 24 %" in error.detail
