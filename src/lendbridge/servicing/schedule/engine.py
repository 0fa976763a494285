"""``build_schedule(terms)``: the repayment plan of a loan, exact to the minor unit.

Rules (docs/schedules.md): each period's interest is rounded half up to the minor unit;
principal shares and the level payment are rounded per installment and the last installment
repays the exact remaining balance, so principal sums to the amount lent and the balance ends
at zero. Interest of the first ``interest_grace`` periods is waived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.servicing.schedule import methods
from lendbridge.servicing.schedule.dates import due_dates
from lendbridge.servicing.schedule.daycount import year_fraction
from lendbridge.servicing.schedule.schedule import Installment, Schedule
from lendbridge.servicing.schedule.terms import (
    MAX_INSTALLMENTS,
    PERIODS_PER_YEAR,
    Frequency,
    InterestPeriod,
    Method,
    Terms,
)

_new_installment = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def build_schedule(terms: Terms) -> Schedule:
    """The installments of ``terms``: due dates, principal, interest, fee, balance."""
    principal = terms.principal
    rate_num, rate_den = terms.annual_rate_percent.as_integer_ratio()
    rate_den *= 100  # percent -> fraction
    if terms.frequency is Frequency.SINGLE:
        dates = due_dates(terms.start, Frequency.SINGLE, terms.term)
        years, days_per_year = year_fraction(terms.start, dates[0], terms.day_count)
        interest = methods.half_up(principal * rate_num * years, rate_den * days_per_year)
        principals, interests = [principal], [0 if terms.interest_grace else interest]
        periods_per_year = (365, terms.term)
    elif terms.method is Method.BULLET:
        principals, interests, dates = _bullet(terms, rate_num, rate_den)
        periods_per_year = (PERIODS_PER_YEAR[terms.frequency], terms.term)
    else:
        dates = due_dates(terms.start, terms.frequency, terms.term, terms.anchor_day)
        principals, interests = _amortise(terms, dates, rate_num, rate_den)
        periods_per_year = (PERIODS_PER_YEAR[terms.frequency], 1)
        if terms.interest_grace:
            # Waived (免息), not capitalised: the principal the method repays is unchanged.
            interests[: terms.interest_grace] = [0] * terms.interest_grace
    return _assemble(terms, dates, principals, interests, periods_per_year)


def _amortise(
    terms: Terms, dates: list[dt.date], rate_num: int, rate_den: int
) -> tuple[list[int], list[int]]:
    ppy = PERIODS_PER_YEAR[terms.frequency]
    nominal = (rate_num, rate_den * ppy)
    rates: list[tuple[int, int]]
    if terms.interest_period is InterestPeriod.DAILY:
        rates = []
        previous = terms.start
        for due in dates:
            years, days_per_year = year_fraction(previous, due, terms.day_count)
            rates.append((rate_num * years, rate_den * days_per_year))
            previous = due
    else:
        rates = [nominal] * terms.term
    method = terms.method
    if method is Method.EQUAL_INSTALLMENT:
        return methods.equal_installment(
            terms.principal, terms.principal_grace, rates, nominal, terms.installment_multiple
        )
    if method is Method.INTEREST_ONLY:
        return methods.interest_only(terms.principal, rates)
    return methods.equal_principal(
        terms.principal, terms.principal_grace, rates, on_original=method is Method.FLAT
    )


def _bullet(
    terms: Terms, rate_num: int, rate_den: int
) -> tuple[list[int], list[int], list[dt.date]]:
    """到期还本付息: simple interest on the principal over the periods not waived, all paid
    with the principal at the end of the term."""
    all_dates = due_dates(terms.start, terms.frequency, terms.term, terms.anchor_day)
    waived = terms.interest_grace
    if terms.interest_period is InterestPeriod.DAILY:
        accrual_start = terms.start if waived == 0 else all_dates[waived - 1]
        years, days_per_year = year_fraction(accrual_start, all_dates[-1], terms.day_count)
    else:
        years, days_per_year = terms.term - waived, PERIODS_PER_YEAR[terms.frequency]
    interest = methods.half_up(terms.principal * rate_num * years, rate_den * days_per_year)
    return [terms.principal], [interest], [all_dates[-1]]


def _assemble(
    terms: Terms,
    dates: list[dt.date],
    principals: list[int],
    interests: list[int],
    periods_per_year: tuple[int, int],
) -> Schedule:
    fee = terms.installment_fee()
    balance = terms.principal
    rows = []
    number = 0
    for due, part, interest in zip(dates, principals, interests, strict=True):
        number += 1
        balance -= part
        rows.append(
            _new_installment(
                Installment, (number, due, part, interest, fee, part + interest + fee, balance)
            )
        )
    total_interest = sum(interests)
    upfront = terms.upfront_fee()
    installment_fees = fee * number
    total_repayment = terms.principal + total_interest + installment_fees
    if total_repayment > MAX_MINOR_UNITS:
        raise field_error(
            ValidationFailed,
            "principal",
            "the schedule's total repayment exceeds the largest storable amount",
        )
    return Schedule(
        terms=terms,
        installments=tuple(rows),
        periods_per_year=periods_per_year,
        upfront_fee=upfront,
        disbursed=terms.principal - upfront if terms.upfront_fee_deducted else terms.principal,
        total_principal=terms.principal,
        total_interest=total_interest,
        total_fees=upfront + installment_fees,
        total_repayment=total_repayment,
    )


def reamortise(
    terms: Terms, balance: int, start: dt.date, term: int | None = None, **changes: Any
) -> Schedule:
    """The rest of a loan rebuilt from its outstanding ``balance`` on ``start`` (the last
    due date paid, or a prepayment's date), over ``term`` installments (default the original
    term) at the original terms otherwise — the restructure and the prepayment "reduce
    installment" case; with ``term_for_installment`` also "reduce term". No upfront fee and
    no grace carry over; monthly due dates keep the original loan's day of month. ``changes``
    override other terms (a new rate for a restructure)."""
    anchor = terms.anchor_day
    if terms.frequency is Frequency.MONTHLY and anchor is None:
        anchor = terms.start.day
    rebuilt = dataclasses.replace(
        terms,
        principal=balance,
        start=start,
        term=terms.term if term is None else term,
        principal_grace=0,
        interest_grace=0,
        upfront_fee_fixed=0,
        upfront_fee_percent=Decimal(0),
        anchor_day=anchor,
        **changes,
    )
    return build_schedule(rebuilt)


def term_for_installment(terms: Terms, balance: int, installment: int) -> int:
    """The fewest installments that repay ``balance`` at ``terms``' rate and frequency with a
    level payment (equal_installment) or a principal share (equal_principal, flat) of at
    most ``installment`` minor units: prepayment "reduce term" keeps the installment and
    shortens the loan."""
    if installment <= 0:
        raise field_error(ValidationFailed, "installment", "must be positive")
    if terms.method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
        count = -(-balance // installment)
    elif terms.method is Method.EQUAL_INSTALLMENT and terms.frequency is not Frequency.SINGLE:
        rate_num, rate_den = terms.annual_rate_percent.as_integer_ratio()
        rate = (rate_num, rate_den * 100 * PERIODS_PER_YEAR[terms.frequency])
        # The level payment falls as the count grows: the first count whose payment fits.
        low, high = 1, MAX_INSTALLMENTS
        if methods.level_payment(balance, high, rate) > installment:
            count = MAX_INSTALLMENTS + 1
        else:
            while low < high:
                middle = (low + high) // 2
                if methods.level_payment(balance, middle, rate) <= installment:
                    high = middle
                else:
                    low = middle + 1
            count = low
    else:
        raise field_error(
            ValidationFailed, "method", "a term follows from the installment only for amortising"
        )
    if count > MAX_INSTALLMENTS:
        raise field_error(
            ValidationFailed,
            "installment",
            f"too small to repay the balance within {MAX_INSTALLMENTS} installments",
        )
    return count
