"""Prepayment (提前还款) and payoff (提前结清): principal paid before it is due, and the
schedule rebuilt for what is left.

A prepayment on date ``d`` falls in the period of the first installment not yet due, ``k``
(``[s, due_k)``). By then everything due is paid and ``k``'s interest accrued to ``d`` is
paid. The principal prepaid, ``X``, and the product's fee on it are paid; then:

* ``X`` is the whole outstanding principal: the loan is **paid off**. ``k`` keeps the
  interest earned to ``d`` (paid), loses its principal's rest and its fee (not due), and the
  later installments are cancelled.
* otherwise the rest, ``B'``, is re-amortised (``schedule.reamortise``) from ``s`` over the
  remaining installments (**reduce installment**: same count, lower amounts) or over the
  fewest installments that keep the installment (**reduce term**: ``term_for_installment``),
  as the product says. Due dates stay those of the original schedule. ``k``'s interest is
  what it earned to ``d`` on the old balance plus the new balance's share of the rest of the
  period (``accrual.share_after``); accrual resumes from ``d``. Installment fees stay what
  the contract set; waived interest (interest grace) stays waived; a principal grace not yet
  over keeps its remaining installments.

Reduce term applies to the amortising methods (equal installment, equal principal, flat);
interest-only and bullet loans, a loan whose current installment is its last, and a loan
still in its principal grace reduce the installment instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from lendbridge.products.schemas import PrepaymentMode, ProductIn
from lendbridge.servicing.accrual import share_after
from lendbridge.servicing.installments import CANCELLED
from lendbridge.servicing.models import Loan, LoanInstallment
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    Method,
    Schedule,
    Terms,
    build_schedule,
    reamortise,
    term_for_installment,
)
from lendbridge.servicing.schedule.terms import fee_amount

REDUCIBLE_TERM = frozenset({Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.FLAT})


def prepayment_fee(product: ProductIn, principal: int) -> int:
    """The product's fee on ``principal`` paid early (none on nothing)."""
    if principal <= 0:
        return 0
    fee = product.prepayment.fee
    return fee_amount(principal, fee.fixed, Decimal(fee.percent))


def affordable(product: ProductIn, money: int, outstanding: int) -> tuple[int, int]:
    """The most principal ``X`` (at most ``outstanding``) that ``money`` pays together with
    its prepayment fee, and that fee: (X, fee). (0, 0) if the fee alone is out of reach."""
    if outstanding <= 0 or money <= 0:
        return 0, 0
    whole = prepayment_fee(product, outstanding)
    if outstanding + whole <= money:
        return outstanding, whole
    low, high = 0, outstanding  # X + fee(X) grows with X: the largest X that fits
    while low < high:
        middle = (low + high + 1) // 2
        if middle + prepayment_fee(product, middle) <= money:
            low = middle
        else:
            high = middle - 1
    return low, prepayment_fee(product, low)


def paid_installments(rows: Sequence[LoanInstallment]) -> int:
    return sum(1 for row in rows if row.number >= 1 and row.state == "paid")


def allowed(product: ProductIn, rows: Sequence[LoanInstallment]) -> bool:
    """Whether the product accepts principal early yet (after N installments paid)."""
    return paid_installments(rows) >= product.prepayment.allowed_after


def pay_off(current: LoanInstallment, later: Sequence[LoanInstallment], principal: int) -> None:
    """The whole outstanding ``principal`` is paid on the current installment's period:
    it keeps the interest earned (paid already), the later installments are cancelled."""
    current.principal_due = current.principal_paid = current.principal_paid + principal
    current.interest_due = current.interest_accrued
    current.fee_due = current.fee_charged
    for row in later:
        _cancel(row)


def rebuild(
    loan: Loan,
    product: ProductIn,
    terms: Terms,
    rows: Sequence[LoanInstallment],
    balance: int,
    on: dt.date,
) -> None:
    """Re-amortise ``balance`` (after a partial prepayment on ``on``) over ``rows``: the
    loan's open installments from the current one ``k`` on. Updates the rows in place,
    cancelling those a shorter term drops (a prepayment never lengthens the loan), and sets
    the loan's maturity date."""
    current = rows[0]
    remaining = len(rows)
    grace_left = max(0, terms.principal_grace - (current.number - 1))
    single = terms.method is Method.BULLET or terms.frequency is Frequency.SINGLE
    count = terms.term if single else remaining
    if (
        product.prepayment.mode is PrepaymentMode.REDUCE_TERM
        and terms.method in REDUCIBLE_TERM
        and not single
        and grace_left == 0
        and remaining > 1
    ):
        regular = rows[1]  # the current one may carry a partial period's interest
        level = regular.principal_due
        if terms.method is Method.EQUAL_INSTALLMENT:
            level += regular.interest_due
        count = min(remaining, term_for_installment(terms, balance, level))
    schedule = _reamortised(terms, balance, current.start_date, count, grace_left)
    new = schedule.installments
    if not single:
        assert new[0].due_date == current.due_date, "a rebuilt schedule keeps its due dates"
    day_count = DayCount(product.day_count)
    waived = terms.interest_grace
    for index, item in enumerate(new):
        row = rows[index]
        interest = 0 if row.number <= waived else item.interest
        row.principal_due = row.principal_paid + item.principal
        row.fee_due = loan.installment_fee
        if index == 0:
            row.interest_due = row.interest_accrued + share_after(
                interest, row.start_date, on, row.due_date, day_count
            )
            row.accrual_from, row.accrual_base = on, row.interest_accrued
        else:
            row.interest_due = interest
    for row in rows[len(new) :]:
        _cancel(row)
    loan.maturity_date = new[-1].due_date


def _reamortised(terms: Terms, balance: int, start: dt.date, count: int, grace: int) -> Schedule:
    """``reamortise`` with the installment fee left out (the rows keep the contract's fee),
    and a principal grace that is not over yet kept."""
    if grace == 0:
        return reamortise(
            terms,
            balance,
            start,
            count,
            installment_fee_fixed=0,
            installment_fee_percent=Decimal(0),
        )
    anchor = terms.anchor_day
    if terms.frequency is Frequency.MONTHLY and anchor is None:
        anchor = terms.start.day
    return build_schedule(
        dataclasses.replace(
            terms,
            principal=balance,
            start=start,
            term=count,
            principal_grace=grace,
            interest_grace=0,
            upfront_fee_fixed=0,
            upfront_fee_percent=Decimal(0),
            anchor_day=anchor,
            installment_fee_fixed=0,
            installment_fee_percent=Decimal(0),
        )
    )


def _cancel(row: LoanInstallment) -> None:
    """Drop a future installment (nothing of it was due, charged or paid)."""
    row.principal_due = row.principal_paid
    row.interest_due = row.interest_paid
    row.interest_accrued = row.interest_paid
    row.accrual_base = 0
    row.fee_due = row.fee_charged = row.fee_paid
    row.penalty_due = row.penalty_paid
    row.state = CANCELLED
