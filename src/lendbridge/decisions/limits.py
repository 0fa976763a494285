"""The credit limit: the least of the product's maximum, the repayment capacity and the
per-person cap, rounded down to the policy's step. Integer fen throughout; ratios are
``Decimal`` and every division rounds down (a limit is never rounded up into a loan the
borrower cannot carry).

* Repayment capacity: monthly income x max debt-to-income, less every monthly obligation
  (platform loans and declared ones) = the affordable monthly payment; the largest principal
  whose heaviest installment (at the offered rate and term, fees included) fits it.
* Per-person cap: the lower of the policy's cap (300,000 CNY by default) and a share of the
  annual income (one third by default), less what the person already owes on the platform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from lendbridge.decisions import offer_math
from lendbridge.decisions.facts import Facts
from lendbridge.decisions.policy import LimitRule

# How many times the capacity is stepped down when the real schedule of the estimated
# principal is a little heavier than the linear estimate (fixed fees, rounding).
MAX_ADJUSTMENTS = 8


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int  # the limit (0: none)
    affordable_monthly: int
    capacity: int
    person_cap: int
    product_max: int


def floor_to(amount: int, step: int) -> int:
    return max(0, amount) // step * step


def affordable_monthly(facts: Facts, rule: LimitRule) -> int:
    share = (Decimal(facts.monthly_income) * Decimal(rule.max_debt_to_income)).to_integral_value(
        ROUND_FLOOR
    )
    obligations = facts.declared_monthly_obligations + facts.platform_monthly_obligations
    return max(0, int(share) - obligations)


def person_cap(facts: Facts, rule: LimitRule) -> int:
    # An exact fraction ("1/3"), so one third of 120,000 yuan is 40,000 yuan, not 39,996.
    by_income = math.floor(facts.monthly_income * 12 * Fraction(rule.person_cap_income_share))
    return max(0, min(rule.person_cap, by_income) - facts.platform_outstanding)


def capacity(facts: Facts, rule: LimitRule, rate_percent: Decimal) -> tuple[int, int]:
    """(affordable monthly payment, largest principal it carries), the principal a multiple
    of the step and never above the product's maximum (nothing larger could be lent)."""
    affordable = affordable_monthly(facts, rule)
    if affordable == 0:
        return 0, 0
    product, term = facts.product, facts.requested_term
    base = offer_math.base_terms(product, term, facts.start, rate_percent)
    per_fen = offer_math.burden_per_principal(base)
    estimate = (Decimal(affordable) / per_fen).to_integral_value(ROUND_FLOOR)
    principal = floor_to(min(int(estimate), product.max_amount), rule.step)
    for _ in range(MAX_ADJUSTMENTS):
        if principal == 0:
            break
        burden = offer_math.monthly_burden(base, principal)
        if burden <= affordable:
            return affordable, principal
        # Scale down by the excess, and by at least one step.
        smaller = principal * affordable // burden
        principal = floor_to(min(smaller, principal - rule.step), rule.step)
    return affordable, 0


def credit_limit(facts: Facts, rule: LimitRule, rate_percent: Decimal) -> Limit:
    affordable, by_capacity = capacity(facts, rule, rate_percent)
    cap = person_cap(facts, rule)
    product_max = facts.product.max_amount
    amount = floor_to(min(product_max, by_capacity, cap), rule.step)
    return Limit(amount, affordable, by_capacity, cap, product_max)
