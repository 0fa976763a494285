"""The rules a product version must meet to be saved. Pure calculation, no database.

``validate_product`` raises one ``ValidationFailed`` listing every broken rule, each naming
its field by dotted path (``penalty.rate_multiple``). First the rules between fields, then
the schedule engine's own rules for every allowed term, then the APR cap.

The APR cap (PBoC Announcement 〔2021〕 No. 3): the annualised cost of the loan, computed by
the schedule engine as the IRR of the borrower's real cash flows with every fee included,
must not exceed ``max_apr_percent`` for any allowed amount and term.

Which amounts to check
----------------------
Without rounding, every flow of a schedule is linear in the amount P: the borrower receives
P·(1 − u) − U and installment k costs P·a_k + G, where U and G are the fixed upfront and
installment fees and u, a_k do not depend on P. A loan's APR is at most the cap exactly when
the present value of its installments at the cap's periodic rate c is at most what the
borrower receives: M(P) = P·(A(c) − (1 − u)) + G·S(c) + U ≤ 0, with A(c) = Σ a_k/(1+c)^k and
S(c) = Σ 1/(1+c)^k. M is linear in P, so over [min, max] it is largest at an end: **checking
the minimum and the maximum amount covers every amount in between.** (When the price per
unit lent is within the cap, fixed fees make M fall as P grows: the minimum amount is the
worst. With percentage fees only, G = U = 0 and every amount gets the same verdict.)

Real schedules are rounded to the minor unit: each period's interest and each percentage
fee half up (at most half a unit either way), the upfront fee's percentage likewise, the
level payment to ``installment_multiple`` (at most one multiple, up or down, the last
installment absorbing the difference) and equal principal shares down (less than one unit).
Each of these moves M by an amount that does not depend on P: half a unit per rounded fee
or interest, discounted; a payment moved by δ from installment k to the last one moves it by
at most δ·(1 − Π_{j>k}(1 + r_j)/(1 + c)^{n−k})/(1 + c)^k, r_j the loan's own periodic rates.
So for any P in the range, M_real(P) ≤ M_exact(P) + E ≤ max(M_exact(min), M_exact(max)) + E
≤ max(M_real(min), M_real(max)) + 2E. Hence, for every allowed term, the APR of the minimum
and of the maximum amount, and the APR of each of them with 2E added to its cash flows
(rounded up to whole minor units: :func:`rounding_bound`), must be within the cap. The
padded figure can refuse a product whose every real amount stays just below the cap (small
amounts near it); the error says "rounding to the minor unit can lift the APR", and raising
the minimum amount or lowering the price by a hair fixes it. (A rate at the cap is such a
product, and rightly refused: at 24 % without fees, 100.75 yuan over 3 months costs
24.0788 %.)

Start dates: with interest per repayment period the schedule does not depend on the start.
With daily interest (and for a single payment under 30/360 or ACT/ACT) period lengths and
leap days change the APR, so the check runs from the first and the last day of each month
from January 2027 to February 2028 (every month length, a leap day, month-end anchors; see
:func:`sample_starts`).
That is a sample, not every date: :func:`lendbridge.products.pricing.quote`, which every
loan goes through, checks the real loan's APR against the cap as well.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from lendbridge.kit.errors import FieldError, ValidationFailed
from lendbridge.products.pricing import (
    PRODUCT_FIELD,
    describe_amount,
    engine_terms,
    installments,
    term_unit,
)
from lendbridge.products.schemas import Component, PenaltyBasis, PrepaymentMode, ProductIn
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    Installment,
    InterestPeriod,
    Method,
    Schedule,
    apr,
    build_schedule,
)
from lendbridge.servicing.schedule.dates import days_in_month
from lendbridge.servicing.schedule.terms import (
    AMORTISING,
    MAX_INSTALLMENTS,
    MAX_SINGLE_DAYS,
    fee_amount,
)

MAX_APR_CEILING = Decimal(36)  # above 36 % a year Chinese courts do not enforce interest
MAX_RATE_MULTIPLE = Decimal(10)
MAX_DAILY_RATE = Decimal(1)
PENALTY_DAYS_PER_YEAR = 365
HUNDRED = Decimal(100)
REFERENCE_START = dt.date(2027, 3, 1)
SAMPLE_STARTS = tuple(
    day
    for year, month in [(2027, m) for m in range(1, 13)] + [(2028, 1), (2028, 2)]
    for day in (dt.date(year, month, 1), dt.date(year, month, days_in_month(year, month)))
)


@dataclass(frozen=True, slots=True)
class AprViolation:
    """An amount and term whose APR exceeds the cap (``through_rounding``: the rounding
    bound at that end of the range, see the module docstring)."""

    amount: int
    term: int
    start: dt.date | None  # None when the APR does not depend on the start date
    apr: Decimal
    through_rounding: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "term": self.term,
            "start": self.start.isoformat() if self.start else None,
            "apr": str(self.apr),
            "through_rounding": self.through_rounding,
        }


def validate_product(product: ProductIn) -> None:
    """Raise ``ValidationFailed`` listing every rule ``product`` breaks (see module doc)."""
    errors = structural_errors(product)
    if errors:
        raise _failed(errors)
    errors, violations = schedule_errors(product)
    if errors:
        raise _failed(errors, violations)


def _failed(
    errors: list[FieldError], violations: list[AprViolation] | None = None
) -> ValidationFailed:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    extra = {"apr_violations": [v.as_json() for v in violations]} if violations else {}
    return ValidationFailed(detail, errors, extra)


def decimal(text: str) -> Decimal:
    return Decimal(text)


def structural_errors(p: ProductIn) -> list[FieldError]:
    """The rules between fields (the schema has bounded each field on its own)."""
    errors: list[FieldError] = []

    def fail(field: str, message: str) -> None:
        errors.append(FieldError(field, message))

    if p.max_amount < p.min_amount:
        fail("max_amount", "must be at least min_amount")
    single = p.frequency is Frequency.SINGLE
    limit = MAX_SINGLE_DAYS if single else MAX_INSTALLMENTS
    for index, term in enumerate(p.allowed_terms):
        if term > limit:
            fail(f"allowed_terms.{index}", f"must be at most {limit} ({term_unit(p)})")
    if any(later <= earlier for earlier, later in pairwise(p.allowed_terms)):
        fail("allowed_terms", "must be in ascending order without repeats")
    shortest = min(p.allowed_terms)
    if p.installment_multiple != 1 and (single or p.method is not Method.EQUAL_INSTALLMENT):
        fail("installment_multiple", "applies only to equal_installment in installments")
    if p.principal_grace:
        if single or p.method not in AMORTISING:
            fail("principal_grace", "applies only to amortising methods paid in installments")
        elif p.principal_grace >= shortest:
            fail("principal_grace", f"must be less than every allowed term (shortest {shortest})")
    if p.interest_grace > (1 if single else shortest):
        fail("interest_grace", f"must be at most every allowed term (shortest {shortest})")
    upfront = fee_amount(p.min_amount, p.upfront_fee.fixed, decimal(p.upfront_fee.percent))
    if upfront >= p.min_amount:
        fail(
            "upfront_fee",
            f"the fee on min_amount ({describe_amount(upfront, p.currency)}) must be less "
            "than min_amount: the borrower must receive something",
        )
    for field in ("upfront_fee", "installment_fee"):
        if decimal(getattr(p, field).percent) > HUNDRED:
            fail(f"{field}.percent", "must be at most 100")
    if decimal(p.prepayment.fee.percent) > HUNDRED:
        fail("prepayment.fee.percent", "must be at most 100")
    cap = decimal(p.max_apr_percent)
    if not 0 < cap <= MAX_APR_CEILING:
        fail("max_apr_percent", f"must be above 0 and at most {MAX_APR_CEILING}")
    errors.extend(_penalty_errors(p, cap))
    errors.extend(_prepayment_errors(p))
    if sorted(p.allocation.order) != sorted(Component):
        fail(
            "allocation.order",
            "must name each of penalty, fee, interest and principal exactly once",
        )
    return errors


def _penalty_errors(p: ProductIn, cap: Decimal) -> list[FieldError]:
    """罚息: the field the basis names, and only it; its annual rate within the APR cap.

    Interest, penalty interest and fees on a financial loan that total more than 24 % a
    year may be reduced by a court (Supreme People's Court, 法发〔2017〕22号 §2): overdue
    amounts carry the penalty rate, so it is held to the product's cap as well (a daily
    rate counts 365 days a year)."""
    penalty = p.penalty
    errors: list[FieldError] = []
    fields = {
        PenaltyBasis.RATE_MULTIPLE: "rate_multiple",
        PenaltyBasis.DAILY_RATE: "daily_rate_percent",
    }
    for basis, field in fields.items():
        value = getattr(penalty, field)
        if penalty.basis is basis and value is None:
            errors.append(FieldError(f"penalty.{field}", f"is required when basis is {basis}"))
        if penalty.basis is not basis and value is not None:
            errors.append(FieldError(f"penalty.{field}", f"applies only when basis is {basis}"))
    if penalty.basis is PenaltyBasis.NONE and penalty.grace_days:
        errors.append(FieldError("penalty.grace_days", "applies only when a penalty is charged"))
    if errors:
        return errors
    if penalty.basis is PenaltyBasis.RATE_MULTIPLE:
        assert penalty.rate_multiple is not None
        multiple = decimal(penalty.rate_multiple)
        if not 0 < multiple <= MAX_RATE_MULTIPLE:
            return [
                FieldError(
                    "penalty.rate_multiple", f"must be above 0 and at most {MAX_RATE_MULTIPLE}"
                )
            ]
        annual = multiple * decimal(p.annual_rate_percent)
        if annual > cap:
            return [
                FieldError(
                    "penalty.rate_multiple",
                    f"the penalty rate would be {annual.normalize():f} % a year "
                    f"({penalty.rate_multiple} × {p.annual_rate_percent} %), above "
                    f"max_apr_percent {p.max_apr_percent} %",
                )
            ]
    elif penalty.basis is PenaltyBasis.DAILY_RATE:
        assert penalty.daily_rate_percent is not None
        daily = decimal(penalty.daily_rate_percent)
        if not 0 < daily <= MAX_DAILY_RATE:
            return [
                FieldError(
                    "penalty.daily_rate_percent", f"must be above 0 and at most {MAX_DAILY_RATE}"
                )
            ]
        annual = daily * PENALTY_DAYS_PER_YEAR
        if annual > cap:
            return [
                FieldError(
                    "penalty.daily_rate_percent",
                    f"the penalty rate would be {annual.normalize():f} % a year "
                    f"({penalty.daily_rate_percent} % × {PENALTY_DAYS_PER_YEAR} days), above "
                    f"max_apr_percent {p.max_apr_percent} %",
                )
            ]
    return []


def _prepayment_errors(p: ProductIn) -> list[FieldError]:
    errors: list[FieldError] = []
    fewest = min(installments(p, term) for term in p.allowed_terms)
    if p.prepayment.allowed_after >= fewest:
        errors.append(
            FieldError(
                "prepayment.allowed_after",
                f"must be less than the installments of every allowed term (fewest {fewest}), "
                "or prepayment would never be possible",
            )
        )
    reducible = p.method in AMORTISING and p.frequency is not Frequency.SINGLE
    if p.prepayment.mode is PrepaymentMode.REDUCE_TERM and not reducible:
        errors.append(
            FieldError(
                "prepayment.mode",
                "reduce_term needs an amortising method paid in installments; "
                "use reduce_installment",
            )
        )
    return errors


def start_dependent(p: ProductIn) -> bool:
    """Whether the schedule (and so the APR) depends on the start date."""
    if p.frequency is Frequency.SINGLE:
        return p.day_count in (DayCount.THIRTY_360, DayCount.ACT_ACT)
    if p.interest_period is not InterestPeriod.DAILY:
        return False
    # Weekly and biweekly periods have a fixed number of days: only 30E/360's month
    # arithmetic and ACT/ACT's leap years make them differ.
    return p.frequency is Frequency.MONTHLY or p.day_count in (
        DayCount.THIRTY_360,
        DayCount.ACT_ACT,
    )


def sample_starts(p: ProductIn) -> tuple[dt.date, ...]:
    """The start dates the APR is checked from (module doc). Under ACT/365F and ACT/360 a
    monthly loan from the 31st has the period lengths of one from the next month's 1st, so
    those starts are left out; 30E/360 and ACT/ACT tell them apart."""
    if not start_dependent(p):
        return (REFERENCE_START,)
    if p.day_count in (DayCount.ACT_365F, DayCount.ACT_360):
        return tuple(day for day in SAMPLE_STARTS if day.day != 31)
    return SAMPLE_STARTS


def schedule_errors(p: ProductIn) -> tuple[list[FieldError], list[AprViolation]]:
    """The engine's rules and the APR cap, for every allowed term (see the module doc)."""
    errors: dict[str, FieldError] = {}
    apr_errors: list[FieldError] = []
    violations: list[AprViolation] = []
    starts = sample_starts(p)
    cap = decimal(p.max_apr_percent)
    for index, term in enumerate(p.allowed_terms):
        try:
            worst = _worst_apr(p, term, starts, cap)
        except ValidationFailed as exc:
            for error in _product_errors(p, exc, index, term):
                errors.setdefault(error.field, error)
            continue
        if worst is not None:
            violations.append(worst)
            apr_errors.append(_violation_error(p, worst))
    return [*errors.values(), *apr_errors], violations


def _worst_apr(
    p: ProductIn, term: int, starts: tuple[dt.date, ...], cap: Decimal
) -> AprViolation | None:
    """The highest APR above ``cap`` (one of a real schedule before a rounding bound)."""
    worst: AprViolation | None = None
    dated = len(starts) > 1
    amounts = sorted({p.min_amount, p.max_amount})
    for start in starts:
        for amount in amounts:
            schedule = build_schedule(engine_terms(p, amount, term, start))
            # The padded schedule costs at least the real one: when it is within the cap,
            # so is the real one, and one IRR is enough.
            bound = rounding_bound(p, schedule, cap)
            if bound is not None and bound <= cap:
                continue
            found = apr(schedule).apr
            if found > cap:
                candidate = AprViolation(amount, term, start if dated else None, found)
            elif bound is not None:
                candidate = AprViolation(amount, term, start if dated else None, bound, True)
            else:
                continue
            # A real schedule's APR is reported before a rounding bound's, then the highest.
            if worst is None or _rank(candidate) > _rank(worst):
                worst = candidate
    return worst


def _rank(v: AprViolation) -> tuple[bool, Decimal]:
    return (not v.through_rounding, v.apr)


def rounding_bound(p: ProductIn, schedule: Schedule, cap: Decimal) -> Decimal | None:
    """The APR of ``schedule`` with twice the most that rounding can move its cash flows at
    the cap's rate (module doc), in whole minor units: one unit per installment for rounded
    interest, one for a percentage fee, the discounted effect of the rounded payment or
    principal share, and one unit less received for a percentage upfront fee. If it is within
    ``cap`` at the minimum and the maximum amount, every amount in between is. None if
    nothing is rounded."""
    rows = schedule.installments
    count = len(rows)
    rounded = (decimal(p.annual_rate_percent) > 0) + (decimal(p.installment_fee.percent) > 0)
    upfront_extra = int(decimal(p.upfront_fee.percent) > 0)
    step = _principal_step(p, count)
    if not rounded and not upfront_extra and not step:
        return None
    if schedule.terms.principal - schedule.upfront_fee - upfront_extra <= 0:
        return None
    pads = [rounded] * count
    if step:
        num, den = schedule.periods_per_year
        discount = 1 / (1 + cap / HUNDRED * den / num)
        # Π_{j>k} (1 + r_j) · discount: the cost, at the cap's rate, of a unit of principal
        # repaid with the last installment instead of installment k.
        carried = Decimal(1)
        for k in range(count - 1, 0, -1):
            carried *= (1 + _period_rate(p, rows[k])) * discount
            pads[k - 1] += math.ceil(2 * step * abs(1 - carried))
    padded = dataclasses.replace(
        schedule,
        upfront_fee=schedule.upfront_fee + upfront_extra,
        installments=tuple(
            row._replace(total=row.total + pad) for row, pad in zip(rows, pads, strict=True)
        ),
    )
    return apr(padded).apr


def _principal_step(p: ProductIn, count: int) -> int:
    """The most the rounding of a level payment (or of a principal share) moves it."""
    if count == 1:
        return 0
    if p.method is Method.EQUAL_INSTALLMENT:
        return p.installment_multiple
    if p.method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
        return 1
    return 0


def _period_rate(p: ProductIn, row: Installment) -> Decimal:
    """The rate a principal left outstanding pays in ``row``'s period: its interest over the
    balance it was charged on (none for flat, whose interest ignores the balance)."""
    owed = row.balance + row.principal
    if p.method is Method.FLAT or owed == 0:
        return Decimal(0)
    return Decimal(row.interest) / owed


def _violation_error(p: ProductIn, v: AprViolation) -> FieldError:
    amount = describe_amount(v.amount, p.currency)
    span = f"over {v.term} {term_unit(p)}"
    if v.start is not None:
        span += f" from {v.start.isoformat()}"
    cap = f"above the maximum {p.max_apr_percent} %"
    if v.through_rounding:
        message = (
            f"rounding to the minor unit can lift the APR of amounts near {amount} {span} to "
            f"{v.apr} %, {cap}: raise min_amount or lower the price"
        )
    else:
        message = f"the APR of {amount} {span} is {v.apr} %, {cap}"
    return FieldError("max_apr_percent", message)


def _product_errors(p: ProductIn, exc: ValidationFailed, index: int, term: int) -> list[FieldError]:
    """The engine's refusal for one term, in the product's field names."""
    out = []
    for error in exc.errors:
        if error.field == "principal":
            field = "max_amount"  # the total repayment of the largest amount overflows
        elif error.field in ("term", "start"):
            field = f"allowed_terms.{index}"
        else:
            field = PRODUCT_FIELD.get(error.field, error.field)
        out.append(FieldError(field, f"{error.message} (term {term} {term_unit(p)})"))
    return out
