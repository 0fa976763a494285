"""Interest recognition (利息计提): how much of an installment's interest is earned by a date.
Pure calculation.

The rule: an installment's scheduled interest is earned linearly over its period in the
product's day count. The amount recognised by a date is the scheduled interest times the
elapsed fraction of the period, **rounded as a cumulative amount** (half up); each day books
the difference from the day before. So the daily amounts may differ by a cent, but their
sum over the period is exactly the schedule's interest for it, and the last day of the
period brings the total to that interest.

Dates are exclusive at the end: interest "to" a date covers every day before it. A period
``[start, due)`` is therefore fully earned at its due date.

After a prepayment rebuilds a period (``servicing/prepayment.py``), its interest is what was
earned before the prepayment (``base``, at ``accrual_from``) plus the new balance's share of
the rest; accrual resumes from ``accrual_from`` with the same rule over what is left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lendbridge.servicing.installments import CANCELLED
from lendbridge.servicing.schedule import DayCount
from lendbridge.servicing.schedule.daycount import year_fraction
from lendbridge.servicing.schedule.methods import half_up


def accrued(
    interest: int,
    base: int,
    accrual_from: dt.date,
    due_date: dt.date,
    to: dt.date,
    day_count: DayCount,
) -> int:
    """Interest recognised by ``to`` (exclusive) for an installment whose ``interest`` is
    earned from ``base`` at ``accrual_from`` linearly to all of it at ``due_date``."""
    if to >= due_date:
        return interest
    if to <= accrual_from:
        return base
    elapsed_num, elapsed_den = year_fraction(accrual_from, to, day_count)
    total_num, total_den = year_fraction(accrual_from, due_date, day_count)
    if total_num == 0:  # a period of no days in this day count: earned at its due date
        return base
    rest = interest - base
    return base + half_up(rest * elapsed_num * total_den, elapsed_den * total_num)


def share_after(
    amount: int, start: dt.date, split: dt.date, due_date: dt.date, day_count: DayCount
) -> int:
    """The part of a period's ``amount`` of interest earned from ``split`` to ``due_date``
    (rounded half up): after a prepayment, the new balance's interest for the rest of the
    period."""
    if split <= start:
        return amount
    if split >= due_date:
        return 0
    rest_num, rest_den = year_fraction(split, due_date, day_count)
    total_num, total_den = year_fraction(start, due_date, day_count)
    if total_num == 0:
        return amount
    return half_up(amount * rest_num * total_den, rest_den * total_num)


class AccruingLoan(Protocol):
    """What accrual reads and moves on a loan: an ORM ``Loan`` or a close-of-business row."""

    accrual_installment: int | None
    interest_outstanding: int
    fee_outstanding: int


class AccruingInstallment(Protocol):
    number: int
    state: str
    due_date: dt.date
    interest_due: int
    interest_accrued: int
    accrual_base: int
    accrual_from: dt.date
    fee_due: int
    fee_charged: int


@dataclass
class AccrualChange:
    interest: int = 0
    fees: list[tuple[int, int]] = field(default_factory=list)  # (installment, fee)
    by_installment: list[list[int]] = field(default_factory=list)  # [number, interest]

    @property
    def fee(self) -> int:
        return sum(amount for _, amount in self.fees)


def advance(
    loan: AccruingLoan, rows: Sequence[AccruingInstallment], to: dt.date, day_count: DayCount
) -> AccrualChange:
    """Recognise on ``rows`` (the loan's installments from its accrual pointer, in order) the
    interest of every day before ``to`` and charge the fees due on or before ``to``; move the
    pointer past installments wholly earned and the loan's running balances."""
    change = AccrualChange()
    pointer = loan.accrual_installment
    for row in rows:
        if row.state == CANCELLED:
            continue
        earned = accrued(
            row.interest_due, row.accrual_base, row.accrual_from, row.due_date, to, day_count
        )
        delta = earned - row.interest_accrued
        if delta:
            row.interest_accrued = earned
            change.interest += delta
            change.by_installment.append([row.number, delta])
        if row.due_date <= to and row.fee_charged < row.fee_due:
            change.fees.append((row.number, row.fee_due - row.fee_charged))
            row.fee_charged = row.fee_due
        if row.due_date <= to and pointer == row.number:
            pointer = row.number + 1
    loan.accrual_installment = pointer
    loan.interest_outstanding += change.interest
    loan.fee_outstanding += change.fee
    return change
