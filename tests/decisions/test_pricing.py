"""The price: the grade's rate, at most the product's rate; the offer's APR (fees included)
within the product's cap, the rate lowered to fit down to the policy's minimum, else a
decline."""

from __future__ import annotations

from decimal import Decimal

from lendbridge.decisions.evaluate import compile_policy, evaluate
from lendbridge.decisions.policy import Outcome
from lendbridge.products.pricing import engine_terms
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.schedule import apr, build_schedule
from tests.decisions.factories import START, facts, policy, product, score

DEFAULT = compile_policy(policy())


def real_apr(product_data: dict[str, object], amount: int, rate: str, term: int = 12) -> Decimal:
    terms = engine_terms(ProductIn.model_validate(product_data), amount, term, START)
    fields = {name: getattr(terms, name) for name in terms.__dataclass_fields__}
    return apr(build_schedule(type(terms)(**{**fields, "annual_rate_percent": Decimal(rate)}))).apr


def test_the_grade_sets_the_rate_and_the_apr_is_the_offers() -> None:
    decision = evaluate(DEFAULT, facts(), score(570))
    assert decision.rate_percent == "12"
    assert Decimal(decision.apr_percent or "0") == real_apr(product(), decision.amount, "12")


def test_the_product_rate_is_a_ceiling() -> None:
    cheap = facts(product=product(annual_rate_percent="10"))
    assert evaluate(DEFAULT, cheap, score(520)).rate_percent == "10"  # grade D: 18 % -> 10 %
    assert evaluate(DEFAULT, cheap, score(650)).rate_percent == "9.6"


def test_a_fee_that_breaks_the_apr_cap_lowers_the_rate() -> None:
    fee = product(upfront_fee={"fixed": 0, "percent": "5", "deducted": True})
    decision = evaluate(DEFAULT, facts(product=fee), score(540))  # grade C: 15.4 %
    assert decision.outcome is Outcome.APPROVE
    rate, offer_apr = Decimal(decision.rate_percent or "0"), Decimal(decision.apr_percent or "0")
    assert Decimal(6) <= rate < Decimal("15.4")
    assert offer_apr <= Decimal(24)
    assert offer_apr == real_apr(fee, decision.amount, decision.rate_percent or "")
    assert real_apr(fee, decision.amount, "15.4") > Decimal(24)


def test_no_rate_within_the_cap_declines() -> None:
    fee = product(upfront_fee={"fixed": 0, "percent": "15", "deducted": True})
    decision = evaluate(DEFAULT, facts(product=fee), score(540))
    assert decision.outcome is Outcome.DECLINE
    assert [r.code for r in decision.rules if not r.passed] == ["apr_cap"]
    assert decision.reasons[0].zh == "该产品的综合年化利率上限无法满足"
    assert (decision.rate_percent, decision.apr_percent, decision.limit) == (None, None, 0)


def test_no_capacity_for_the_product_minimum_declines() -> None:
    decision = evaluate(DEFAULT, facts(monthly_income=100_00), score(650))
    assert decision.outcome is Outcome.DECLINE
    assert [r.code for r in decision.rules if not r.passed] == ["limit"]
    assert (
        decision.reasons[0].en == "Repayment capacity does not cover the product's minimum amount"
    )


def test_the_offer_is_the_request_up_to_the_limit() -> None:
    small = evaluate(DEFAULT, facts(requested_amount=5_000_00), score(650))
    assert small.amount == 5_000_00 < small.limit
    large = evaluate(DEFAULT, facts(requested_amount=150_000_00), score(650))
    assert large.amount == large.limit == 40_000_00  # a third of 120,000 yuan a year
