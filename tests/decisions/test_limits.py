"""The limit: product maximum, repayment capacity (debt-to-income) and the per-person cap
(300,000 CNY or a third of annual income, less what the person owes), rounded down."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.decisions.limits import affordable_monthly, credit_limit, person_cap
from lendbridge.decisions.offer_math import monthly_burden
from lendbridge.decisions.policy import LimitRule
from lendbridge.products.pricing import engine_terms
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.schedule import build_schedule
from tests.decisions.factories import START, facts

RULE = LimitRule()
RATE = Decimal("9.6")


def installment(product: dict[str, Any], amount: int, term: int = 12) -> int:
    """A monthly loan's average installment, built by the schedule engine directly."""
    terms = engine_terms(ProductIn.model_validate(product), amount, term, START)
    terms = type(terms)(**{**_fields(terms), "annual_rate_percent": RATE})
    rows = build_schedule(terms).installments
    return -(-sum(row.total for row in rows) // len(rows))  # the average, rounded up


def _fields(terms: object) -> dict[str, Any]:
    return {name: getattr(terms, name) for name in terms.__dataclass_fields__}  # type: ignore[attr-defined]


def test_affordable_payment_is_income_times_dti_less_all_obligations() -> None:
    applicant = facts(
        monthly_income=10_000_00,
        platform_monthly_obligations=1_000_00,
        declared_monthly_obligations=500_00,
    )
    assert affordable_monthly(applicant, RULE) == 3_500_00
    assert affordable_monthly(facts(monthly_income=10_001), RULE) == 5_000  # rounded down
    assert affordable_monthly(facts(declared_monthly_obligations=9_000_00), RULE) == 0


def test_capacity_is_the_largest_principal_whose_installment_fits() -> None:
    applicant = facts(monthly_income=6_000_00, platform_monthly_obligations=1_000_00)
    limit = credit_limit(applicant, RULE, RATE)
    assert limit.affordable_monthly == 2_000_00
    assert limit.amount == limit.capacity < limit.person_cap
    assert limit.amount % 100 == 0  # whole yuan, the default step
    product = applicant.product.model_dump(mode="json")
    assert installment(product, limit.amount) <= 2_000_00
    assert installment(product, limit.amount + 100) > 2_000_00  # the largest such
    # The closed form: 2,000 yuan a month for 12 months at 0.8 % a month carries
    # 22,797.229... yuan; rounded down to the yuan.
    assert limit.amount == 22_797_00


def test_per_person_cap_is_a_third_of_annual_income_or_300000_less_what_is_owed() -> None:
    assert person_cap(facts(monthly_income=10_000_00), RULE) == 40_000_00
    assert person_cap(facts(monthly_income=10_000_00, platform_outstanding=15_000_00), RULE) == (
        25_000_00
    )
    assert person_cap(facts(monthly_income=100_000_00), RULE) == 300_000_00
    rich_owing = facts(monthly_income=100_000_00, platform_outstanding=280_000_00)
    assert person_cap(rich_owing, RULE) == 20_000_00
    assert person_cap(facts(monthly_income=1_000_00, platform_outstanding=5_000_00), RULE) == 0
    custom = LimitRule(person_cap=100_000_00, person_cap_income_share="0.5")
    assert person_cap(facts(monthly_income=100_000_00), custom) == 100_000_00
    assert person_cap(facts(monthly_income=10_000_00), custom) == 60_000_00


def test_the_limit_is_the_least_of_the_three_rounded_down_to_the_step() -> None:
    by_cap = credit_limit(
        facts(monthly_income=10_000_00, platform_outstanding=10_012_34), RULE, RATE
    )
    assert by_cap.person_cap == 29_987_66
    assert by_cap.amount == 29_987_00 < by_cap.capacity
    hundreds = credit_limit(
        facts(monthly_income=10_000_00, platform_outstanding=10_012_34),
        LimitRule(step=100_00),
        RATE,
    )
    assert hundreds.amount == 29_900_00
    rich = credit_limit(facts(monthly_income=1_000_000_00), RULE, RATE)
    assert rich.amount == rich.product_max == 200_000_00
    yuan = credit_limit(facts(monthly_income=10_000_00), LimitRule(step=1), RATE)
    assert yuan.amount == 40_000_00  # a step of one fen: the cap exactly


def test_fees_count_in_the_installment() -> None:
    with_fee = facts(
        monthly_income=6_000_00,
        platform_monthly_obligations=1_000_00,
        product={**facts().product.model_dump(mode="json"), "installment_fee": {"fixed": 50_00}},
    )
    limit = credit_limit(with_fee, RULE, RATE)
    assert limit.amount < 22_797_00
    product = with_fee.product.model_dump(mode="json")
    assert installment(product, limit.amount) <= 2_000_00 < installment(product, limit.amount + 100)


def test_an_interest_only_loan_is_measured_by_its_average_monthly_repayment() -> None:
    interest_only = facts(
        requested_term=6,
        product={**facts().product.model_dump(mode="json"), "method": "interest_only"},
    )
    limit = credit_limit(interest_only, RULE, RATE)
    assert 0 < limit.capacity < limit.product_max
    from lendbridge.decisions.offer_math import base_terms

    base = base_terms(interest_only.product, 6, START, RATE)
    assert monthly_burden(base, limit.capacity) <= limit.affordable_monthly


@settings(max_examples=150, deadline=None)
@given(
    income=st.integers(0, 2_000_000_00),
    platform=st.integers(0, 100_000_00),
    declared=st.integers(0, 100_000_00),
    outstanding=st.integers(0, 500_000_00),
    term=st.sampled_from([6, 12]),
    rate=st.sampled_from(["6", "9.6", "15.4", "23.9"]),
    dti=st.sampled_from(["0.3", "0.5", "0.7"]),
    step=st.sampled_from([1, 100, 100_00]),
)
def test_limit_never_above_any_cap_never_negative_whole_fen(
    income: int,
    platform: int,
    declared: int,
    outstanding: int,
    term: int,
    rate: str,
    dti: str,
    step: int,
) -> None:
    applicant = facts(
        monthly_income=income,
        platform_monthly_obligations=platform,
        declared_monthly_obligations=declared,
        platform_outstanding=outstanding,
        requested_term=term,
    )
    rule = LimitRule(max_debt_to_income=dti, step=step)
    limit = credit_limit(applicant, rule, Decimal(rate))
    assert type(limit.amount) is int
    assert 0 <= limit.amount <= min(limit.product_max, limit.capacity, limit.person_cap)
    assert limit.amount % step == 0
    assert limit.person_cap <= max(0, 300_000_00 - outstanding)
    assert limit.person_cap <= income * 12 // 3
    if limit.capacity:
        base_limit = limit.capacity
        from lendbridge.decisions.offer_math import base_terms

        base = base_terms(applicant.product, term, START, Decimal(rate))
        assert monthly_burden(base, base_limit) <= limit.affordable_monthly
