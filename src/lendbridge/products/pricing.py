"""From a product version to the schedule engine: the terms of one loan and its quote.
Pure calculation, no database: the loan code loads a version (``service.get_product``) and
calls :func:`terms_for` or :func:`quote` with the loan's amount, term and start date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from lendbridge.kit.errors import FieldError, ValidationFailed, field_error
from lendbridge.kit.money import to_major
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.schedule import Apr, Frequency, Method, Schedule, Terms, apr
from lendbridge.servicing.schedule import build_schedule as _build

# The engine's field names, in the product's words.
PRODUCT_FIELD = {
    "currency": "currency",
    "annual_rate_percent": "annual_rate_percent",
    "principal_grace": "principal_grace",
    "interest_grace": "interest_grace",
    "installment_multiple": "installment_multiple",
    "upfront_fee_fixed": "upfront_fee.fixed",
    "upfront_fee_percent": "upfront_fee.percent",
    "upfront_fee_deducted": "upfront_fee.deducted",
    "installment_fee_fixed": "installment_fee.fixed",
    "installment_fee_percent": "installment_fee.percent",
}


@dataclass(frozen=True, slots=True)
class Quote:
    terms: Terms
    schedule: Schedule
    rates: Apr


def engine_terms(
    product: ProductIn, amount: int, term: int, start: dt.date, anchor_day: int | None = None
) -> Terms:
    """The engine's ``Terms`` for ``amount`` over ``term`` from ``start``, with no check
    against the product's range (raises the engine's ``ValidationFailed``, in its names)."""
    return Terms(
        principal=amount,
        currency=product.currency,
        annual_rate_percent=Decimal(product.annual_rate_percent),
        term=term,
        start=start,
        frequency=product.frequency,
        method=product.method,
        day_count=product.day_count,
        interest_period=product.interest_period,
        principal_grace=product.principal_grace,
        interest_grace=product.interest_grace,
        installment_multiple=product.installment_multiple,
        upfront_fee_fixed=product.upfront_fee.fixed,
        upfront_fee_percent=Decimal(product.upfront_fee.percent),
        upfront_fee_deducted=product.upfront_fee.deducted,
        installment_fee_fixed=product.installment_fee.fixed,
        installment_fee_percent=Decimal(product.installment_fee.percent),
        anchor_day=anchor_day,
    )


def term_unit(product: ProductIn) -> str:
    return "days" if product.frequency is Frequency.SINGLE else "installments"


def installments(product: ProductIn, term: int) -> int:
    """How many installments a loan of ``term`` has (a bullet or single payment: one)."""
    if product.method is Method.BULLET or product.frequency is Frequency.SINGLE:
        return 1
    return term


def describe_amount(amount: int, currency: str) -> str:
    return f"{to_major(amount, currency)} {currency} ({amount} minor units)"


def terms_for(
    product: ProductIn,
    amount: int,
    term: int,
    start: dt.date,
    *,
    anchor_day: int | None = None,
) -> Terms:
    """The schedule engine's terms of a loan of ``amount`` minor units over ``term`` under
    ``product``, disbursed on ``start``. Refuses, naming the field, an amount outside the
    product's range (``amount``) and a term it does not allow (``term``). ``anchor_day`` is
    for rebuilt schedules (monthly: the original loan's day of month)."""
    if type(amount) is not int or not product.min_amount <= amount <= product.max_amount:
        raise field_error(
            ValidationFailed,
            "amount",
            f"must be between {describe_amount(product.min_amount, product.currency)} and "
            f"{describe_amount(product.max_amount, product.currency)} for product "
            f"{product.code}",
        )
    if term not in product.allowed_terms:
        allowed = ", ".join(str(t) for t in product.allowed_terms)
        raise field_error(
            ValidationFailed,
            "term",
            f"must be one of {allowed} ({term_unit(product)}) for product {product.code}",
        )
    try:
        return engine_terms(product, amount, term, start, anchor_day)
    except ValidationFailed as exc:
        # A saved product fits the engine for every allowed amount and term from the
        # reference dates; what is left is the start (a last due date past 9999-12-31).
        raise ValidationFailed(
            exc.detail,
            [
                FieldError(PRODUCT_FIELD.get(e.field, _loan_field(e.field)), e.message)
                for e in exc.errors
            ],
        ) from None


def _loan_field(engine_field: str) -> str:
    return {"principal": "amount", "term": "start", "start": "start"}.get(
        engine_field, engine_field
    )


def quote(product: ProductIn, amount: int, term: int, start: dt.date) -> Quote:
    """The schedule and APR of a loan under ``product``. Refuses (field ``amount``) a loan
    whose APR exceeds the product's maximum: saving a product checks the worst amounts and
    representative start dates, and this check makes the cap hold for every real loan
    whatever rounding or start date it has."""
    terms = terms_for(product, amount, term, start)
    try:
        schedule = _build(terms)
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.detail, [FieldError(_loan_field(e.field), e.message) for e in exc.errors]
        ) from None
    rates = apr(schedule)
    cap = Decimal(product.max_apr_percent)
    if rates.apr > cap:
        raise field_error(
            ValidationFailed,
            "amount",
            f"the APR of this loan would be {rates.apr} %, above product {product.code}'s "
            f"maximum of {cap} %",
            apr=str(rates.apr),
        )
    return Quote(terms=terms, schedule=schedule, rates=rates)
