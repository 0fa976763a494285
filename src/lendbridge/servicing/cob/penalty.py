"""The penalty interest step of the close of business (``loans.penalty``): 罚息 on every
repayable loan's overdue principal, per its pinned product version's ``penalty`` settings.

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

Booking is like accrual's: each installment's ``penalty_due`` and the loan's
``penalty_outstanding`` grow, one ``penalty`` loan transaction and one ledger entry per loan
and day (Dr ``1132.004`` penalty receivable / Cr ``6011.002`` penalty interest income), both
keyed ``loan:<id>:penalty:<D>``, so a day is booked at most once.

Batches of ``ctx.batch_size`` loans in primary-key order, one transaction each, moving each
loan's watermark ``penalty_through`` (the last day charged) to ``D`` in that transaction: a
close killed mid-step resumes with the loans it had not reached, and running it again books
nothing. The overdue installments of a whole batch are one query (unpaid, overdue rows only:
a loan's cost does not grow with its age). Each close charges its own day only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.ids import new_id
from lendbridge.ledger.schemas import EntryIn
from lendbridge.products.schemas import PenaltyBasis, PenaltyIn
from lendbridge.servicing import accounting, lifecycle
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.interest import post_keyed
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import (
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanTransaction,
    TransactionKind,
)
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")
DAYS_PER_YEAR = 365
HUNDRED = 100


def daily_rate(penalty: PenaltyIn, annual_rate_percent: str) -> Fraction | None:
    """The exact daily penalty rate (a fraction of the base), or None when none is charged."""
    if penalty.basis is PenaltyBasis.DAILY_RATE and penalty.daily_rate_percent is not None:
        return Fraction(penalty.daily_rate_percent) / HUNDRED
    if penalty.basis is PenaltyBasis.RATE_MULTIPLE and penalty.rate_multiple is not None:
        return (
            Fraction(annual_rate_percent)
            * Fraction(penalty.rate_multiple)
            / (HUNDRED * DAYS_PER_YEAR)
        )
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


@dataclass
class _Charge:
    loan: Loan
    amount: int = 0
    by_installment: list[list[int]] = field(default_factory=list)  # [number, penalty]


def overdue_rows(
    session: Session, loan_ids: Sequence[uuid.UUID], day: dt.date
) -> dict[uuid.UUID, list[LoanInstallment]]:
    """Per loan, its installments due before ``day`` with principal unpaid, oldest first —
    one query for all the loans."""
    i = LoanInstallment
    stmt = (
        select(i)
        .where(
            i.loan_id.in_(loan_ids),
            i.due_date < day,
            i.state != InstallmentState.CANCELLED.value,
            i.principal_paid < i.principal_due,
        )
        .order_by(i.loan_id, i.number)
    )
    out: dict[uuid.UUID, list[LoanInstallment]] = {}
    for row in session.scalars(stmt):
        out.setdefault(row.loan_id, []).append(row)
    return out


def charge(session: Session, loans: Sequence[Loan], day: dt.date, actor: Actor = ACTOR) -> int:
    """Charge day ``day``'s penalty interest of the loans (locked by the caller) not charged
    for it yet and move their watermark; returns how many loans were charged."""
    live = [
        loan
        for loan in loans
        if loan.status in REPAYABLE and (loan.penalty_through is None or loan.penalty_through < day)
    ]
    if not live:
        return 0
    rows = overdue_rows(session, [loan.id for loan in live], day)
    charges: list[_Charge] = []
    for loan in live:
        loan.penalty_through = day
        penalty = product_of(session, loan).penalty
        rate = daily_rate(penalty, loan.annual_rate_percent)
        if rate is None:
            continue
        grace = dt.timedelta(days=penalty.grace_days)
        charged = [r for r in rows.get(loan.id, []) if r.due_date + grace < day]
        exact = [(r.principal_due - r.principal_paid) * rate for r in charged]
        amount = half_up(sum(exact, Fraction(0)))
        if not amount:
            continue
        change = _Charge(loan, amount)
        for row, share in zip(charged, split(amount, exact), strict=True):
            if share:
                row.penalty_due += share
                change.by_installment.append([row.number, share])
        loan.penalty_outstanding += amount
        charges.append(change)
    if charges:
        _book(session, charges, day, actor)
    session.flush()
    return len(charges)


def _book(session: Session, charges: list[_Charge], day: dt.date, actor: Actor) -> None:
    today = calendar.business_date(session)
    keyed: list[tuple[EntryIn, str]] = []
    for change in charges:
        loan = change.loan
        request = accounting.entry(
            accounting.penalty_lines(change.amount),
            currency=loan.currency,
            effective_date=today,
            description=f"Loan {loan.id}: penalty interest of {day} / 罚息",
            loan_id=loan.id,
            event="penalty",
        )
        keyed.append((request, f"loan:{loan.id}:penalty:{day}"))
    entry_ids = post_keyed(session, keyed)
    now = clock.now()
    who = lifecycle.actor_name(actor)
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "loan_id": change.loan.id,
            "kind": TransactionKind.PENALTY.value,
            "business_date": today,
            "effective_date": day,
            "amount": change.amount,
            "principal": 0,
            "interest": 0,
            "fee": 0,
            "penalty": change.amount,
            "entry_id": entry_ids[key],
            "payment_order_id": None,
            "repayment_id": None,
            "idempotency_key": key,
            "details": {"installments": change.by_installment},
            "actor": who,
            "created_at": now,
        }
        for change, (_, key) in zip(charges, keyed, strict=True)
    ]
    session.execute(insert(LoanTransaction), rows)


@runner.step(
    "loans.penalty",
    position=30,
    description="Penalty interest (罚息) of the day on overdue principal past the grace days",
)
def penalty(ctx: runner.StepContext) -> None:
    day = ctx.business_date
    pending = and_(
        Loan.status.in_([s.value for s in REPAYABLE]),
        # the watermark: loans not yet charged for the day
        or_(Loan.penalty_through.is_(None), Loan.penalty_through < day),
    )
    loan_batches(ctx, pending, lambda session, loans: charge(session, loans, day))
