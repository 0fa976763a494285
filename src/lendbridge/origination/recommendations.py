"""Product recommendations: from a borrower's needs to the products that fit them, ranked, each
with its estimated price and the reasons, in Chinese and English.

Candidates: every product taking new loans (active; its newest version, the one
``products.service.product_for_new_loan`` gives) in the need's currency.

Per product:

* Amount: the amount needed when it lies within the product's range; above its maximum, the
  maximum (said in a reason); below its minimum the product is left out (``ineligible``).
* Term: the months needed when the product allows them; else the allowed term nearest in
  months (ties: the longer, its lower payment the easier to carry), said in a reason.
  Weekly, fortnightly and single-payment terms are compared by their length in months (52
  weeks, 26 fortnights, 365 days a year).
* Price: under the active version of the policy applications are decided under
  (``LENDBRIDGE_DECISION_POLICY``, default ``standard``). With a known credit grade, the
  grade's rate, at most the product's rate (as a decision prices, ``decisions/evaluate.py``);
  without one, the range from the best grade's rate to the product's rate, estimated at the
  product's rate (the most a borrower pays: conservative). The schedule engine computes the
  schedule from the business date, its APR, total interest and repayment, and the average
  monthly payment (``decisions.offer_math.monthly_burden``, what decisions measure
  affordability with). An estimate whose APR exceeds the product's cap is left out.
* Affordability: (payments declared elsewhere + the next installment of each of the
  customer's loans on this platform + the estimated payment) / monthly income, against the
  policy's ``limit.max_debt_to_income``. Above it, or with no income, the product is left
  out; without a questionnaire answer (the query gave amount and term) it is not checked.
* KYC: a loan needs a verified identity and a bound bank card; until then every product is
  still recommended, with the reason "complete identity verification and bind a card first".

Left-out products are listed separately (``ineligible``) with their reasons, so a borrower
sees why a product is missing.

Fit score, 0-100, the sum of three transparent parts:

* amount: 50 x the estimated amount / the amount needed, rounded down (50: all of it);
* term: 30 for the term needed, 5 points less per month (rounded up) the term is away;
* affordability: 20 when checked and within the limit, 0 when not checked.

Ranking: the fit score (highest first), then the APR (lowest first), then the monthly
payment (lowest first), then the product code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.decisions import offer_math, policies
from lendbridge.decisions.policy import GradeRule
from lendbridge.decisions.reasons import ReasonText
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.kyc_models import KycLevel
from lendbridge.identity.models import User, UserKind
from lendbridge.kit import calendar
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.money import to_major
from lendbridge.origination.needs import Need
from lendbridge.origination.recommendation_schemas import (
    FitOut,
    IneligibleOut,
    NeedUsedOut,
    ReasonOut,
    RecommendationOut,
    RecommendationsOut,
)
from lendbridge.products import service as products
from lendbridge.products.schemas import ProductIn, ProductOut, ProductStatus
from lendbridge.servicing.models import InstallmentState, Loan, LoanInstallment, LoanStatus
from lendbridge.servicing.schedule import Frequency, build_schedule
from lendbridge.servicing.schedule.terms import PERIODS_PER_YEAR

STAFF_READ = "applications.read"
AMOUNT_POINTS, TERM_POINTS, AFFORDABLE_POINTS = 50, 30, 20
TERM_POINTS_PER_MONTH = 5
# Loans that owe installments, or are about to (a pending loan is disbursed soon).
OWING = (
    LoanStatus.PENDING_DISBURSEMENT,
    LoanStatus.ACTIVE,
    LoanStatus.OVERDUE,
    LoanStatus.RESTRUCTURED,
)
UNITS = {
    Frequency.MONTHLY: ("个月", "months"),
    Frequency.BIWEEKLY: ("个双周", "fortnights"),
    Frequency.WEEKLY: ("周", "weeks"),
    Frequency.SINGLE: ("天", "days"),
}
DAYS_PER_YEAR = 365
PAGE = 500

KYC_FIRST = ReasonText(
    "kyc", "请先完成实名认证并绑定银行卡", "Complete identity verification and bind a card first"
)
FIT = ReasonText("fit", "金额与期限完全符合您的需求", "The amount and term match your needs")
AMOUNT_FITS = ReasonText("amount", "金额符合您的需求", "The amount matches your needs")
TERM_FITS = ReasonText("term", "期限符合您的需求", "The term matches your needs")
UNKNOWN_INCOME = ReasonText(
    "affordability_unknown",
    "填写需求问卷后可评估还款能力",
    "Answer the needs questionnaire to check affordability",
)
NO_INCOME = ReasonText(
    "no_income", "您未申报收入，无法负担月供", "No income is declared to carry the payment"
)
APR_CAP = ReasonText(
    "apr_cap",
    "该产品的综合年化利率上限无法满足",
    "The loan's APR would exceed the product's cap",
)


def check_access(actor: Actor, customer_id: uuid.UUID) -> None:
    """The customer themselves, or staff who read applications (``applications.read``);
    for anyone else the customer's recommendations are "not found" (never 403: whether a
    customer exists is not told)."""
    if actor.user_id != str(customer_id) and not actor.may(STAFF_READ):
        raise UserNotFound(f"no borrower {customer_id}")


def borrower(session: Session, customer_id: uuid.UUID) -> User:
    user = session.get(User, customer_id)
    if user is None or user.kind != UserKind.BORROWER.value:
        raise UserNotFound(f"no borrower {customer_id}")
    return user


def platform_monthly_installments(session: Session, customer_id: uuid.UUID, currency: str) -> int:
    """The customer's loans on the platform that owe (or are about to): the scheduled total
    (principal, interest and fee due) of each one's next unpaid installment, summed. One
    statement. Read here, like ``servicing/customers.py`` reads identity's tables, until
    servicing publishes such a function."""
    next_unpaid = (
        select(
            LoanInstallment.loan_id.label("loan_id"),
            func.min(LoanInstallment.number).label("number"),
        )
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            Loan.customer_id == customer_id,
            Loan.currency == currency,
            Loan.status.in_([s.value for s in OWING]),
            LoanInstallment.state == InstallmentState.PENDING.value,
            LoanInstallment.number >= 1,  # number 0: an upfront fee, paid once at the start
        )
        .group_by(LoanInstallment.loan_id)
        .subquery()
    )
    due = LoanInstallment.principal_due + LoanInstallment.interest_due + LoanInstallment.fee_due
    total = session.scalar(
        select(func.coalesce(func.sum(due), 0)).join(
            next_unpaid,
            and_(
                LoanInstallment.loan_id == next_unpaid.c.loan_id,
                LoanInstallment.number == next_unpaid.c.number,
            ),
        )
    )
    return int(total or 0)


def active_products(session: Session, currency: str) -> list[ProductOut]:
    """The newest version of every active product in ``currency``."""
    found: list[ProductOut] = []
    cursor: str | None = None
    while True:
        page = products.list_products(
            session, status=ProductStatus.ACTIVE, limit=PAGE, cursor=cursor
        )
        found += [p for p in page.items if p.currency == currency]
        cursor = page.next_cursor
        if cursor is None:
            return found


@dataclasses.dataclass(frozen=True, slots=True)
class _Pricing:
    need: Need
    start: dt.date
    grade: GradeRule | None
    best_rate: Decimal
    max_dti: Decimal
    platform_monthly: int


def recommend(
    session: Session, customer_id: uuid.UUID, need: Need, grade: str | None
) -> RecommendationsOut:
    """The products for ``need``, ranked (module docstring), priced under the active decision
    policy at ``grade`` (None: the range of rates, estimated at each product's rate)."""
    user = borrower(session, customer_id)
    row, compiled = policies.active_policy(session, get_settings().decision_policy)
    document = compiled.document
    graded = None
    if grade is not None:
        graded = next((g for g in document.grades if g.grade == grade), None)
        if graded is None:
            known = ", ".join(g.grade for g in document.grades)
            raise field_error(ValidationFailed, "grade", f"must be one of {known}")
    pricing = _Pricing(
        need=need,
        start=calendar.business_date(session),
        grade=graded,
        best_rate=Decimal(document.grades[0].annual_rate_percent),
        max_dti=Decimal(document.limit.max_debt_to_income),
        platform_monthly=platform_monthly_installments(session, customer_id, need.currency),
    )
    ready = KycLevel.at_least(user.kyc_level, KycLevel.BANK_CARD_BOUND)
    fitting: list[RecommendationOut] = []
    left_out: list[IneligibleOut] = []
    for product in active_products(session, need.currency):
        assessed = _assess(pricing, product, ready)
        if isinstance(assessed, RecommendationOut):
            fitting.append(assessed)
        else:
            left_out.append(assessed)
    fitting.sort(
        key=lambda r: (-r.fit.total, Decimal(r.apr_percent), r.monthly_payment, r.product_code)
    )
    for rank, item in enumerate(fitting, start=1):
        item.rank = rank
    return RecommendationsOut(
        customer_id=customer_id,
        as_of=pricing.start,
        need=NeedUsedOut(
            amount=need.amount,
            currency=need.currency,
            term_months=need.term_months,
            monthly_income=need.monthly_income,
            monthly_obligations=need.monthly_obligations,
            needs_id=need.needs_id,
            answered_on=need.answered_on,
            overridden=list(need.overridden),
        ),
        grade=grade,
        policy=f"{row.name}/v{row.version}",
        kyc_level=user.kyc_level,
        ready_to_apply=ready,
        platform_monthly_installments=pricing.platform_monthly,
        max_debt_to_income=str(pricing.max_dti),
        recommendations=fitting,
        ineligible=sorted(left_out, key=lambda i: i.product_code),
    )


def term_in_months(product: ProductIn, term: int) -> Fraction:
    if product.frequency is Frequency.SINGLE:
        return Fraction(term * 12, DAYS_PER_YEAR)
    return Fraction(term * 12, PERIODS_PER_YEAR[product.frequency])


def nearest_term(product: ProductIn, months: int) -> int:
    """The allowed term closest to ``months`` in length (ties: the longer, whose lower
    payment is the easier to carry)."""
    return min(
        product.allowed_terms,
        key=lambda t: (abs(term_in_months(product, t) - months), -term_in_months(product, t)),
    )


def yuan(amount: int, currency: str) -> str:
    return f"{to_major(amount, currency):,}"


def percent(ratio: Decimal) -> str:
    """A ratio as a whole percent for the reasons (0.2345 -> "23")."""
    return str((ratio * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _out(code: str, zh: str, en: str) -> ReasonOut:
    return ReasonOut(code=code, zh=zh, en=en)


def _reason(text: ReasonText) -> ReasonOut:
    return ReasonOut(code=text.code, zh=text.zh, en=text.en)


def _ineligible(product: ProductOut, *reasons: ReasonOut) -> IneligibleOut:
    return IneligibleOut(
        product_code=product.code,
        product_name=product.name,
        product_version=product.version,
        reasons=list(reasons),
    )


def _assess(p: _Pricing, product: ProductOut, ready: bool) -> RecommendationOut | IneligibleOut:
    need, currency = p.need, product.currency
    if need.amount < product.min_amount:
        low, wanted = yuan(product.min_amount, currency), yuan(need.amount, currency)
        return _ineligible(
            product,
            _out(
                "below_minimum",
                f"该产品最低借款{low}元，高于您需要的{wanted}元",
                f"This product lends at least {low} yuan, more than the {wanted} yuan you need",
            ),
        )
    amount = min(need.amount, product.max_amount)
    term = nearest_term(product, need.term_months)
    term_exact = term_in_months(product, term) == need.term_months
    product_rate = Decimal(product.annual_rate_percent)
    if p.grade is not None:
        rate = min(Decimal(p.grade.annual_rate_percent), product_rate)
        low_rate = rate
    else:
        rate, low_rate = product_rate, min(p.best_rate, product_rate)
    try:
        base = offer_math.base_terms(product, term, p.start, rate)
        schedule = build_schedule(offer_math.at_principal(base, amount))
    except ValidationFailed as exc:  # e.g. a last due date past the engine's calendar
        return _ineligible(product, _out("not_priced", "该产品暂时无法估价", exc.detail))
    apr = offer_math.offer_apr(base, amount)
    if apr > Decimal(product.max_apr_percent):
        return _ineligible(product, _reason(APR_CAP))
    monthly = offer_math.monthly_burden(base, amount)

    reasons = [_reason(KYC_FIRST)] if not ready else []
    reasons += _fit_reasons(product, need, amount, term, term_exact)
    reasons.append(_rate_reason(p, rate, low_rate))
    payment_ratio = debt_ratio = None
    affordable_points = 0
    if need.monthly_income is None:
        reasons.append(_reason(UNKNOWN_INCOME))
    elif need.monthly_income == 0:
        return _ineligible(product, _reason(NO_INCOME))
    else:
        income = Decimal(need.monthly_income)
        burden = need.monthly_obligations + p.platform_monthly + monthly
        payment_ratio, debt_ratio = Decimal(monthly) / income, Decimal(burden) / income
        affordable = Decimal(burden) <= income * p.max_dti
        said = _affordability_reason(payment_ratio, debt_ratio, p.max_dti, affordable)
        if not affordable:
            return _ineligible(product, said)
        reasons.append(said)
        affordable_points = AFFORDABLE_POINTS
    months_away = math.ceil(abs(term_in_months(product, term) - need.term_months))
    amount_points = AMOUNT_POINTS * amount // need.amount
    term_points = max(0, TERM_POINTS - TERM_POINTS_PER_MONTH * months_away)
    fit = FitOut(
        amount=amount_points,
        term=term_points,
        affordability=affordable_points,
        total=amount_points + term_points + affordable_points,
    )
    return RecommendationOut(
        rank=0,
        product_code=product.code,
        product_name=product.name,
        product_version=product.version,
        amount=amount,
        currency=currency,
        term=term,
        term_unit=UNITS[product.frequency][1],
        frequency=product.frequency,
        method=product.method,
        installments=len(schedule.installments),
        rate_percent=str(rate),
        rate_low_percent=str(low_rate),
        rate_high_percent=str(product_rate),
        apr_percent=str(apr),
        monthly_payment=monthly,
        first_installment=schedule.installments[0].total,
        total_interest=schedule.total_interest,
        total_fees=schedule.total_fees,
        total_repayment=schedule.total_repayment,
        disbursed=schedule.disbursed,
        payment_to_income=None if payment_ratio is None else _ratio(payment_ratio),
        debt_to_income=None if debt_ratio is None else _ratio(debt_ratio),
        fit=fit,
        reasons=reasons,
    )


def _ratio(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _fit_reasons(
    product: ProductOut, need: Need, amount: int, term: int, term_exact: bool
) -> list[ReasonOut]:
    full = amount == need.amount
    if full and term_exact:
        return [_reason(FIT)]
    reasons = []
    if full:
        reasons.append(_reason(AMOUNT_FITS))
    else:
        top, wanted = yuan(product.max_amount, product.currency), yuan(need.amount, need.currency)
        reasons.append(
            _out(
                "amount_capped",
                f"该产品最高可借{top}元，按最高额度估算（您需要{wanted}元）",
                f"This product lends at most {top} yuan: estimated at its maximum "
                f"(you need {wanted} yuan)",
            )
        )
    if term_exact:
        reasons.append(_reason(TERM_FITS))
    else:
        zh_unit, en_unit = UNITS[product.frequency]
        reasons.append(
            _out(
                "term_nearest",
                f"该产品没有{need.term_months}个月的期限，按最接近的{term}{zh_unit}估算",
                f"This product has no {need.term_months}-month term: estimated at the "
                f"nearest, {term} {en_unit}",
            )
        )
    return reasons


def _rate_reason(p: _Pricing, rate: Decimal, low: Decimal) -> ReasonOut:
    if p.grade is not None:
        grade = p.grade.grade
        return _out(
            "rate_grade",
            f"按您的信用等级{grade}，年利率{rate}%",
            f"At your credit grade {grade} the annual rate is {rate}%",
        )
    if low == rate:
        return _out("rate", f"年利率{rate}%", f"The annual rate is {rate}%")
    return _out(
        "rate_range",
        f"预估年利率{low}%至{rate}%，按{rate}%估算，实际利率以审批结果为准",
        f"Estimated annual rate {low}% to {rate}%, estimated at {rate}%; the credit "
        "decision sets your rate",
    )


def _affordability_reason(
    payment: Decimal, debt: Decimal, limit: Decimal, affordable: bool
) -> ReasonOut:
    pay, total, cap = percent(payment), percent(debt), percent(limit)
    if affordable:
        return _out(
            "affordability",
            f"月供约占收入的{pay}%，连同其他还款共约{total}%，在{cap}%的上限之内",
            f"The payment is about {pay}% of your income; with your other payments about "
            f"{total}%, within the {cap}% limit",
        )
    return _out(
        "unaffordable",
        f"月供约占收入的{pay}%，连同其他还款共约{total}%，超过{cap}%的上限",
        f"The payment is about {pay}% of your income; with your other payments about "
        f"{total}%, above the {cap}% limit",
    )
