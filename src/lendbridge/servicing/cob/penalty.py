"""Penalty interest (罚息) on a repayable loan's overdue principal, per its pinned product
version's ``penalty`` settings: the rule the loans' close (``close.py``) applies each day.

The rule, for the business day ``D`` being closed:

- **Which amounts.** Installments due before ``D`` (not cancelled) with principal not fully
  paid, past the product's grace days: an installment due on ``due`` is in its ``n``-th day
  overdue on ``D`` with ``n = D - due``; day ``n`` carries penalty when ``n > grace_days``,
  i.e. ``due + grace_days < D``. The due date itself is never a penalty day, and the grace
  days ``1 … grace_days`` carry none — not even once the grace is over (no retroactive
  charge).
- **The base** is the installment's unpaid principal (``principal_due - principal_paid``).
  Products have no setting for charging penalty on overdue interest (no compounding), so
  interest, fees and penalties already charged are never part of it.
- **The daily rate** is ``daily_rate_percent / 100`` (basis ``daily_rate``), or the loan's
  contract annual rate × ``rate_multiple`` / 365 (basis ``rate_multiple``: a fixed 365-day
  year, the same basis ``products.validation`` holds the penalty rate to the APR cap with).
  Basis ``none`` charges nothing.
- **The day's amount** of a loan is ``Σ base × daily rate`` over its overdue installments,
  computed exactly (rationals, never floats) and rounded half up to the minor unit once per
  loan; it is spread over the installments by their exact shares (largest remainder, the
  oldest first on ties), so each installment's ``penalty_due`` stays what it owes.

Booking (``close.py``): each installment's ``penalty_due`` and the loan's
``penalty_outstanding`` grow, with one ``penalty`` loan transaction per loan and day keyed
``loan:<id>:penalty:<D>``, in the batch's entry (Dr ``1132.004`` penalty receivable / Cr
``6011.002`` penalty interest income); the loan's watermark ``penalty_through`` (the last day
charged) moves to ``D`` in the same transaction, so a day is charged at most once and each
close charges its own day only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from fractions import Fraction
from typing import Protocol

from lendbridge.products.schemas import PenaltyBasis, PenaltyIn

DAYS_PER_YEAR = 365
HUNDRED = 100


def daily_rate(penalty: PenaltyIn, annual_rate_percent: str) -> Fraction | None:
    """The exact daily penalty rate (a fraction of the base), or None when none is charged."""
    return _daily_rate(
        penalty.basis, penalty.daily_rate_percent, penalty.rate_multiple, annual_rate_percent
    )


@functools.lru_cache(maxsize=4096)  # the close asks for every loan every day
def _daily_rate(
    basis: PenaltyBasis,
    daily_rate_percent: str | None,
    rate_multiple: str | None,
    annual_rate_percent: str,
) -> Fraction | None:
    if basis is PenaltyBasis.DAILY_RATE and daily_rate_percent is not None:
        return Fraction(daily_rate_percent) / HUNDRED
    if basis is PenaltyBasis.RATE_MULTIPLE and rate_multiple is not None:
        return Fraction(annual_rate_percent) * Fraction(rate_multiple) / (HUNDRED * DAYS_PER_YEAR)
    return None


def half_up(value: Fraction) -> int:
    """Round a non-negative exact amount half up to the minor unit."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def split(total: int, exact: Sequence[Fraction]) -> list[int]:
    """Spread ``total`` (the rounded sum of ``exact``) over the parts: each its floor, then
    one unit each to the largest remainders (the earlier part first on ties)."""
    shares = [int(x) for x in exact]  # floor: the parts are not negative
    rest = total - sum(shares)
    order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - shares[k]), k))
    for k in order[:rest]:
        shares[k] += 1
    return shares


class PenaltyInstallment(Protocol):
    number: int
    due_date: dt.date
    principal_due: int
    principal_paid: int
    penalty_due: int


def charge_day(
    rows: Sequence[PenaltyInstallment], rate: Fraction, grace_days: int, day: dt.date
) -> tuple[int, list[list[int]]]:
    """Charge day ``day``'s penalty interest on ``rows`` (the loan's unpaid installments, in
    order): each overdue past the grace days gets its share in ``penalty_due``. Returns the
    loan's amount and ``[number, share]`` per installment charged."""
    grace = dt.timedelta(days=grace_days)
    charged = [r for r in rows if r.principal_paid < r.principal_due and r.due_date + grace < day]
    exact = [(r.principal_due - r.principal_paid) * rate for r in charged]
    amount = half_up(sum(exact, Fraction(0)))
    by_installment: list[list[int]] = []
    if not amount:
        return 0, by_installment
    for row, share in zip(charged, split(amount, exact), strict=True):
        if share:
            row.penalty_due += share
            by_installment.append([row.number, share])
    return amount, by_installment
