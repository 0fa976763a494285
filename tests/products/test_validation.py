"""The rules of a product version, each refusal naming its field; the APR cap over every
allowed amount and term. Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from lendbridge.kit.errors import ValidationFailed
from lendbridge.products.pricing import engine_terms
from lendbridge.products.schemas import ProductIn
from lendbridge.products.validation import (
    REFERENCE_START,
    SAMPLE_STARTS,
    rounding_bound,
    sample_starts,
    start_dependent,
    validate_product,
)
from lendbridge.servicing.schedule import apr, build_schedule
from tests.products.factories import document, product


def refusal(**changes: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        validate_product(product(**changes))
    return caught.value


def fields(error: ValidationFailed) -> list[str]:
    return [e.field for e in error.errors]


def test_the_factory_product_is_valid() -> None:
    validate_product(product())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_amount": 999_00}, "max_amount"),
        ({"allowed_terms": [12, 6]}, "allowed_terms"),
        ({"allowed_terms": [6, 6]}, "allowed_terms"),
        ({"allowed_terms": [3, 601]}, "allowed_terms.1"),
        ({"method": "equal_principal", "installment_multiple": 100}, "installment_multiple"),
        ({"method": "interest_only", "principal_grace": 1}, "principal_grace"),
        ({"frequency": "single", "allowed_terms": [30], "principal_grace": 1}, "principal_grace"),
        ({"principal_grace": 3}, "principal_grace"),
        ({"interest_grace": 4}, "interest_grace"),
        ({"upfront_fee": {"fixed": 1_000_00}}, "upfront_fee"),
        ({"upfront_fee": {"percent": "100.5"}}, "upfront_fee.percent"),
        ({"installment_fee": {"percent": "101"}}, "installment_fee.percent"),
        ({"prepayment": {"fee": {"percent": "200"}}}, "prepayment.fee.percent"),
        ({"max_apr_percent": "0"}, "max_apr_percent"),
        ({"max_apr_percent": "36.0001"}, "max_apr_percent"),
        ({"penalty": {"basis": "rate_multiple"}}, "penalty.rate_multiple"),
        ({"penalty": {"basis": "daily_rate"}}, "penalty.daily_rate_percent"),
        (
            {
                "penalty": {
                    "basis": "daily_rate",
                    "daily_rate_percent": "0.05",
                    "rate_multiple": "1",
                }
            },
            "penalty.rate_multiple",
        ),
        ({"penalty": {"basis": "none", "grace_days": 3}}, "penalty.grace_days"),
        ({"penalty": {"basis": "rate_multiple", "rate_multiple": "0"}}, "penalty.rate_multiple"),
        ({"penalty": {"basis": "rate_multiple", "rate_multiple": "10.5"}}, "penalty.rate_multiple"),
        ({"penalty": {"basis": "rate_multiple", "rate_multiple": "2.5"}}, "penalty.rate_multiple"),
        (
            {"penalty": {"basis": "daily_rate", "daily_rate_percent": "0"}},
            "penalty.daily_rate_percent",
        ),
        (
            {"penalty": {"basis": "daily_rate", "daily_rate_percent": "0.07"}},
            "penalty.daily_rate_percent",
        ),
        ({"prepayment": {"allowed_after": 3}}, "prepayment.allowed_after"),
        (
            {"method": "bullet", "prepayment": {"allowed_after": 1}},
            "prepayment.allowed_after",
        ),
        ({"method": "interest_only", "prepayment": {"mode": "reduce_term"}}, "prepayment.mode"),
        (
            {"allocation": {"order": ["penalty", "penalty", "interest", "principal"]}},
            "allocation.order",
        ),
        # The engine's own rules, in the product's field names.
        ({"max_amount": 2**63 - 1}, "max_amount"),
        ({"annual_rate_percent": "30"}, "max_apr_percent"),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, Any], field: str) -> None:
    error = refusal(**changes)
    assert field in fields(error), error.detail
    assert error.status == 422
    assert field in error.detail


def test_every_broken_rule_is_listed_at_once() -> None:
    error = refusal(
        max_amount=1,
        allowed_terms=[6, 3],
        allocation={"order": ["fee", "fee", "fee", "fee"]},
    )
    assert fields(error) == ["max_amount", "allowed_terms", "allocation.order"]


def test_penalty_within_the_cap_is_accepted() -> None:
    # 1.5 × 16 % = 24 %: at the cap, not above it; 0.065 % a day = 23.725 % a year.
    validate_product(
        product(
            annual_rate_percent="16",
            penalty={"basis": "rate_multiple", "rate_multiple": "1.5", "grace_days": 3},
        )
    )
    validate_product(product(penalty={"basis": "daily_rate", "daily_rate_percent": "0.065"}))


@pytest.mark.parametrize(
    "changes",
    [
        {"code": "lower-case"},
        {"code": "X"},
        {"min_amount": 0},
        {"min_amount": 1.5},
        {"annual_rate_percent": 12},
        {"annual_rate_percent": "12.1234567"},
        {"allowed_terms": []},
        {"allowed_terms": list(range(1, 26))},
        {"frequency": "daily"},
        {"penalty": {"basis": "rate_multiple", "rate_multiple": 1.5}},
        {"allocation": {"order": ["penalty", "fee", "interest"]}},
        {"surprise": True},
    ],
)
def test_the_schema_refuses_malformed_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProductIn.model_validate(document(**changes))


# --- the APR cap ------------------------------------------------------------------------


def test_a_cheap_looking_product_with_a_fixed_upfront_fee_is_refused() -> None:
    """15 % a year and "only 30 yuan" upfront: on 20,000 yuan that is nothing, on the
    minimum of 500 yuan over 3 months it is 6 % of the loan, an APR far above 24 %."""
    cheap = product(
        annual_rate_percent="15",
        min_amount=500_00,
        max_amount=20_000_00,
        allowed_terms=[3, 12, 24],
        upfront_fee={"fixed": 30_00},
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_product(cheap)
    error = caught.value
    violations = error.extra["apr_violations"]
    assert [(v["amount"], v["term"]) for v in violations] == [(500_00, 3), (500_00, 12)]
    expected = apr(build_schedule(engine_terms(cheap, 500_00, 3, REFERENCE_START))).apr
    assert violations[0]["apr"] == str(expected)
    assert Decimal(violations[0]["apr"]) > 40
    assert not violations[0]["through_rounding"]
    assert fields(error) == ["max_apr_percent", "max_apr_percent"]
    message = error.errors[0].message
    assert "500.00 CNY (50000 minor units)" in message
    assert "over 3 installments" in message
    assert f"is {expected} %" in message
    # The largest amount is cheap: only the smallest breaks the cap.
    at_max = apr(build_schedule(engine_terms(cheap, 20_000_00, 3, REFERENCE_START))).apr
    assert at_max < 24
    # Over 24 months the fee is spread thin enough.
    assert 24 not in [v["term"] for v in violations]


def test_percentage_fees_cost_the_same_at_every_amount() -> None:
    priced = product(annual_rate_percent="12", upfront_fee={"percent": "2"})
    for term in priced.allowed_terms:
        rates = {
            apr(build_schedule(engine_terms(priced, amount, term, REFERENCE_START))).apr
            for amount in (1_000_00, 20_000_00)
        }
        assert max(rates) - min(rates) < Decimal("0.01")  # rounding only


def test_a_rate_at_the_cap_is_refused_because_rounding_lifts_some_amounts_above_it() -> None:
    """24 % a year, no fees: most amounts cost exactly 24.0000 %, but interest rounded half
    up to the fen lifts small ones above it (100.75 yuan over 3 months: 24.0788 %)."""
    at_cap = product(annual_rate_percent="24", min_amount=100_10, allowed_terms=[3])
    real = apr(build_schedule(engine_terms(at_cap, 100_75, 3, REFERENCE_START))).apr
    assert real == Decimal("24.0788")
    minimum = build_schedule(engine_terms(at_cap, 100_10, 3, REFERENCE_START))
    assert apr(minimum).apr == Decimal("23.9975")  # the minimum itself is within the cap
    bound = rounding_bound(at_cap, minimum, Decimal(24))
    assert bound is not None
    assert bound >= real
    with pytest.raises(ValidationFailed) as caught:
        validate_product(at_cap)
    (violation,) = caught.value.extra["apr_violations"]
    assert violation["through_rounding"] is True
    assert violation["amount"] == 100_10
    assert "rounding to the minor unit" in caught.value.errors[0].message


def test_daily_interest_is_checked_from_sample_start_dates() -> None:
    daily = product(interest_period="daily", day_count="ACT/360")
    assert start_dependent(daily)
    assert not start_dependent(product())
    assert not start_dependent(product(frequency="weekly", interest_period="daily"))
    assert start_dependent(product(frequency="single", allowed_terms=[30], day_count="30/360"))
    assert len(SAMPLE_STARTS) == 28
    assert dt.date(2028, 2, 29) in SAMPLE_STARTS
    assert len(sample_starts(daily)) == 20  # not the 31st: the same periods as the 1st
    assert sample_starts(product(interest_period="daily", day_count="30/360")) == SAMPLE_STARTS
    assert sample_starts(product()) == (REFERENCE_START,)
    # 23.5 % on ACT/360, interest per day: a 31-day month costs 23.5 × 31/30 % a year.
    near = product(
        annual_rate_percent="23.5", interest_period="daily", day_count="ACT/360", allowed_terms=[1]
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_product(near)
    (violation,) = caught.value.extra["apr_violations"]
    start = dt.date.fromisoformat(violation["start"])
    assert start.day == 1 or start.month in (1, 3, 5, 7, 8, 10, 12)
    assert "from " + violation["start"] in caught.value.errors[0].message


def test_the_cap_can_be_lowered_and_raised_within_36() -> None:
    validate_product(product(annual_rate_percent="30", max_apr_percent="36"))
    with pytest.raises(ValidationFailed):
        validate_product(product(annual_rate_percent="12", max_apr_percent="10"))
