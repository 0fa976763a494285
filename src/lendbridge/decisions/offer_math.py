"""The schedule engine, cached, for the limit and the price: a loan's average monthly
repayment and the APR of one offer. Pure.

Cached because a batch of decisions under one product asks about the same few terms again
and again, and building the engine's ``Terms`` (validated on construction) costs more than
the rest of a decision: ``base_terms`` is kept per (the product's schedule-relevant terms,
term, start, rate), and the answers per (base terms, principal).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from decimal import Decimal

from lendbridge.products.pricing import engine_terms
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.schedule import Terms, apr, build_schedule

# The principal the burden ratio is measured at: large, so that the engine's rounding to the
# fen is negligible in the ratio (the limit is then checked on its own schedule).
REFERENCE_PRINCIPAL = 100_000_000_00
MONTHS_PER_YEAR = 12
MAX_BASES = 1024

_bases: dict[tuple[object, ...], Terms] = {}


def _product_key(product: ProductIn) -> tuple[object, ...]:
    """Everything of the product that ``engine_terms`` reads."""
    up, each = product.upfront_fee, product.installment_fee
    return (
        product.currency,
        product.max_amount,
        product.frequency,
        product.method,
        product.day_count,
        product.interest_period,
        product.principal_grace,
        product.interest_grace,
        product.installment_multiple,
        up.fixed,
        up.percent,
        up.deducted,
        each.fixed,
        each.percent,
    )


def base_terms(product: ProductIn, term: int, start: dt.date, rate_percent: Decimal) -> Terms:
    """The product's terms over ``term`` from ``start`` at the offered rate (principal: the
    product's maximum; see :func:`at_principal`)."""
    key = (*_product_key(product), term, start, rate_percent)
    known = _bases.get(key)
    if known is not None:
        return known
    terms = dataclasses.replace(
        engine_terms(product, product.max_amount, term, start), annual_rate_percent=rate_percent
    )
    if len(_bases) >= MAX_BASES:
        _bases.clear()
    _bases[key] = terms
    return terms


@functools.lru_cache(maxsize=65_536)
def at_principal(base: Terms, principal: int) -> Terms:
    return base if base.principal == principal else dataclasses.replace(base, principal=principal)


@functools.lru_cache(maxsize=65_536)
def monthly_burden(base: Terms, principal: int) -> int:
    """The loan's average monthly repayment, fees included, rounded up: its total repayment
    spread over its length in months. For equal installments that is the installment; an
    interest-only or bullet loan's final payment is spread over the loan's months, and a
    weekly loan's month carries 52/12 installments."""
    schedule = build_schedule(at_principal(base, principal))
    num, den = schedule.periods_per_year
    # Months of the loan = installments x 12 / periods per year, as an exact fraction.
    months_num = len(schedule.installments) * MONTHS_PER_YEAR * den
    return -(-schedule.total_repayment * num // months_num)


@functools.lru_cache(maxsize=65_536)
def offer_apr(base: Terms, principal: int) -> Decimal:
    return apr(build_schedule(at_principal(base, principal))).apr


@functools.lru_cache(maxsize=4096)
def burden_per_principal(base: Terms) -> Decimal:
    """Monthly burden per fen of principal (close to linear in the principal: rounding and
    fixed fees are all that bend it)."""
    return Decimal(monthly_burden(base, REFERENCE_PRINCIPAL)) / REFERENCE_PRINCIPAL
