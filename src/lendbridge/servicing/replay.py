"""Replaying a loan's payment-dependent transactions in effective-date order (回溯重算), for
a repayment back-dated before later transactions and for a repayment the channel reversed.

Payment-dependent are the transactions whose amounts depend on what was paid when:
repayments, their prepayment fees, and the daily penalty interest (charged on the principal
overdue at each day's close). Accruals and fee charges follow the schedule alone and stay.

``replay(loan, since, add=..., drop=...)`` on the locked loan:

1. **undo**, newest first, every payment-dependent transaction effective on or after
   ``since`` that no reversal undid yet: the installments' paid amounts and penalties go back
   (a repayment's ``details.installments``; a payoff's ``details.early.rows`` puts back the
   schedule it closed), installments paid on or after ``since`` that owe again are open;
2. **reverse** them in the books, append-only: each ledger entry booked for them alone by
   its reversal entry (``ledger.reverse_entry``), an entry shared with what stays (a batch
   of the close) by a counter-entry of their own lines; each loan transaction by a
   ``reversal`` transaction with the opposite signs (``details.reverses``: its id);
3. **re-apply**, day by day from ``since``: the repayments of the day in effective-date order
   (ties by their original booking order, a back-dated one after those already booked), then
   the penalty of the day on the principal then overdue, up to the last day closed
   (``penalty_through``) — so a customer who paid on the due date owes no penalty after it;
4. the status (``paid_off`` when nothing is left, reopened when a reversal leaves something
   owed) and the days past due as of the business date, with the close's own policy.

Refused (``ReplayRefused``) across a prepayment that rebuilt the schedule or paid a current
period's interest early: the accruals since then followed that schedule. A payoff may be
replayed (nothing accrues after it). In a replay a prepayment's money beyond what is due stays
in the customer's credit balance unless nothing accrued after its date.

Exactly once: everything a replay books carries keys derived from its ``trigger`` (the
repayment applied or reversed), the reversals keys derived from what they reverse, and the
trigger's own status change (pending -> applied, applied -> reversed) happens in the same
transaction: a retried job finds it done and books nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict
from lendbridge.kit.ids import new_id
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import ReverseIn
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing import accounting, installments, lifecycle
from lendbridge.servicing.cob.penalty import daily_rate, half_up, split
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import (
    Loan,
    LoanInstallment,
    LoanRepayment,
    LoanStatus,
    LoanTransaction,
    RepaymentPurpose,
    TransactionKind,
)
from lendbridge.servicing.repayment_application import book, restore, settle
from lendbridge.servicing.replay_status import refresh_status

K = TransactionKind
PAYMENT_DEPENDENT = (K.REPAYMENT.value, K.PREPAYMENT_FEE.value, K.PENALTY.value)
COMPONENTS = ("principal", "interest", "fee", "penalty")
ONE_DAY = dt.timedelta(days=1)


class ReplayRefused(Conflict):
    code = "loan_replay_refused"
    title = "The loan's transactions cannot be replayed from that date"


@dataclass
class Replayed:
    """What a replay did: transactions reversed, repayments re-applied, penalty days
    re-charged (with a non-zero amount)."""

    reversed: int = 0
    reapplied: int = 0
    penalty_days: int = 0


def window(session: Session, loan: Loan, since: dt.date) -> list[LoanTransaction]:
    """The loan's payment-dependent transactions effective on or after ``since`` that no
    reversal undid, in effective-date then booking order (ids are time-ordered)."""
    t = LoanTransaction
    undone = {
        str((details or {}).get("reverses"))
        for details in session.scalars(
            select(t.details).where(
                t.loan_id == loan.id,
                t.kind == K.REVERSAL.value,
                t.effective_date >= since,
            )
        )
    }
    stmt = (
        select(t)
        .where(t.loan_id == loan.id, t.kind.in_(PAYMENT_DEPENDENT), t.effective_date >= since)
        .order_by(t.effective_date, t.id)
    )
    return [tx for tx in session.scalars(stmt) if str(tx.id) not in undone]


def early_kind(tx: LoanTransaction) -> str | None:
    """What a repayment's money did to the schedule beyond what was due (``settle``)."""
    early = (tx.details or {}).get("early")
    return str(early["kind"]) if early else None


def refuse_rebuilds(txs: Sequence[LoanTransaction]) -> None:
    for tx in txs:
        if tx.kind == K.REPAYMENT.value and early_kind(tx) in ("rebuild", "interest"):
            raise ReplayRefused(
                f"repayment {tx.repayment_id} of {tx.effective_date} paid principal or interest "
                "early and the loan accrued on that schedule since: it cannot be replayed"
            )


def replay(
    session: Session,
    loan: Loan,
    since: dt.date,
    *,
    trigger: str,
    actor: Actor,
    add: LoanRepayment | None = None,
    drop: LoanRepayment | None = None,
) -> Replayed:
    """Replay the loan (locked by the caller) from ``since``: ``add`` is a repayment to apply
    on ``since`` among the others, ``drop`` one to leave out. ``trigger`` keys what is booked
    (``apply:<id>``, ``reverse:<id>``)."""
    txs = window(session, loan, since)
    refuse_rebuilds(txs)
    product = product_of(session, loan)
    rows = installments.load_rows(session, loan.id)
    by_number = {row.number: row for row in rows}
    was_closed = loan.status == LoanStatus.PAID_OFF.value
    with session.no_autoflush:
        for tx in reversed(txs):
            _undo(tx, by_number)
        for row in rows:
            reopened = row.paid_on is not None and row.paid_on >= since
            if row.state == installments.PAID and reopened and not installments.settled(row):
                row.state, row.paid_on = installments.PENDING, None
    session.flush()
    done = Replayed()
    _reverse(session, loan, txs, trigger, actor, done)
    queue = _queue(session, txs, add, drop, since)
    today = calendar.business_date(session)
    through = loan.penalty_through
    if was_closed and through is not None:
        through = max(through, today - ONE_DAY)  # the days closed while the loan was paid off
    days = _days(since, through)
    for day in sorted({on for on, _ in queue} | set(days)):
        for on, repayment in queue:
            if on == day:
                _reapply(session, loan, product, rows, repayment, on, trigger, actor)
                done.reapplied += 1
        if day in days and _charge(session, loan, product, rows, day, trigger, actor):
            done.penalty_days += 1
    if through is not None:
        loan.penalty_through = through
    loan.updated_at = clock.now()
    refresh_status(session, loan, rows, today, reason=trigger, actor=actor)
    session.flush()
    return done


def _undo(tx: LoanTransaction, rows: dict[int, LoanInstallment]) -> None:
    """Put the installments back as they were before ``tx`` (the newest not yet undone)."""
    details = tx.details or {}
    if tx.kind == K.PENALTY.value:
        for number, share in details.get("installments", []):
            rows[number].penalty_due -= share
        return
    if tx.kind != K.REPAYMENT.value:
        return  # a prepayment fee is income: no installment owes it
    entries = details.get("installments", [])
    early = details.get("early")
    if early:
        for saved in early["rows"]:
            restore(rows[saved["number"]], saved)
        entries = entries[: early["due_entries"]]
    for number, principal, interest, fee, penalty in entries:
        row = rows[number]
        row.principal_paid -= principal
        row.interest_paid -= interest
        row.fee_paid -= fee
        row.penalty_paid -= penalty


def _reverse(
    session: Session,
    loan: Loan,
    txs: Sequence[LoanTransaction],
    trigger: str,
    actor: Actor,
    done: Replayed,
) -> None:
    """Reverse the transactions in the books: a ledger entry booked for them alone by its
    reversal (``ledger.reverse_entry``, linked to it); one shared with what stays (a close
    that books a batch of loans in one entry) by a counter-entry of each transaction's own
    lines. Then a reversal transaction per transaction."""
    day = calendar.business_date(session)
    now = clock.now()
    ours = {tx.id for tx in txs}
    entry_ids = {tx.entry_id for tx in txs if tx.entry_id is not None}
    shared = {
        entry_id
        for entry_id, tx_id in session.execute(
            select(LoanTransaction.entry_id, LoanTransaction.id).where(
                LoanTransaction.entry_id.in_(entry_ids)
            )
        )
        if tx_id not in ours
    }
    what = f"Loan {loan.id}: replay ({trigger}) reverses"
    mirrors: dict[uuid.UUID, uuid.UUID] = {}
    for tx in txs:
        entry_id = tx.entry_id
        if entry_id is None:
            mirror = None
        elif entry_id in shared:
            mirror = accounting.post(
                session,
                accounting.entry(
                    counter_lines(loan, tx),
                    currency=loan.currency,
                    effective_date=day,
                    description=f"{what} {tx.kind} of {tx.effective_date} / 回溯冲正",
                    loan_id=loan.id,
                    event="reversal",
                ),
                f"loan:{loan.id}:reversal:{tx.id}",
            )
        else:
            if entry_id not in mirrors:
                mirrors[entry_id] = ledger.reverse_entry(
                    session,
                    entry_id,
                    ReverseIn(
                        effective_date=day,
                        description=f"{what} {tx.kind} of {tx.effective_date} / 回溯冲正",
                    ),
                    idempotency_key=f"loan:{loan.id}:reversal:{entry_id}",
                ).id
            mirror = mirrors[entry_id]
        session.add(
            LoanTransaction(
                id=new_id(),
                loan_id=loan.id,
                kind=K.REVERSAL.value,
                business_date=day,
                effective_date=tx.effective_date,
                amount=tx.amount,
                **{name: -getattr(tx, name) for name in COMPONENTS},
                entry_id=mirror,
                payment_order_id=tx.payment_order_id,
                repayment_id=tx.repayment_id,
                idempotency_key=f"loan:{loan.id}:reversal:{tx.id}",
                details={"reverses": str(tx.id), "kind": tx.kind, "replay": trigger},
                actor=lifecycle.actor_name(actor),
                created_at=now,
            )
        )
        loan.principal_outstanding -= tx.principal
        loan.interest_outstanding -= tx.interest
        loan.fee_outstanding -= tx.fee
        loan.penalty_outstanding -= tx.penalty
        done.reversed += 1
    session.flush()


def counter_lines(loan: Loan, tx: LoanTransaction) -> list[accounting.Line]:
    """The lines that undo one payment-dependent transaction's part of an entry: its
    receivable changes the other way, against what it credited or debited."""
    if tx.kind == K.PENALTY.value:
        return [
            (accounting.PENALTY_INCOME, Side.DEBIT, tx.amount),
            (accounting.PENALTY, Side.CREDIT, tx.amount),
        ]
    if tx.kind == K.PREPAYMENT_FEE.value:
        return [
            (accounting.FEE_INCOME, Side.DEBIT, tx.amount),
            (loan.customer_account, Side.CREDIT, tx.amount),
        ]
    receivables: list[accounting.Line] = [
        (accounting.RECEIVABLES[name], Side.DEBIT, -getattr(tx, name)) for name in COMPONENTS
    ]
    return [*receivables, (loan.customer_account, Side.CREDIT, tx.amount)]


def _queue(
    session: Session,
    txs: Sequence[LoanTransaction],
    add: LoanRepayment | None,
    drop: LoanRepayment | None,
    since: dt.date,
) -> list[tuple[dt.date, LoanRepayment]]:
    """The repayments to apply again, in order: those of the window (booking order within a
    day), ``add`` after those of its day, ``drop`` left out."""
    queue: list[tuple[dt.date, LoanRepayment]] = []
    seen = set()
    for tx in txs:
        if tx.kind == K.REPAYMENT.value and tx.repayment_id not in seen:
            seen.add(tx.repayment_id)
            if drop is not None and tx.repayment_id == drop.id:
                continue
            repayment = session.get(LoanRepayment, tx.repayment_id)
            assert repayment is not None, "a repayment transaction names its repayment"
            queue.append((tx.effective_date, repayment))
    if add is not None:
        queue.append((since, add))
    # stable: the window's order within a day, the back-dated one last
    return sorted(queue, key=lambda item: item[0])


def _days(since: dt.date, through: dt.date | None) -> list[dt.date]:
    if through is None or through < since:
        return []
    return [since + dt.timedelta(days=n) for n in range((through - since).days + 1)]


def _reapply(
    session: Session,
    loan: Loan,
    product: ProductIn,
    rows: list[LoanInstallment],
    repayment: LoanRepayment,
    on: dt.date,
    trigger: str,
    actor: Actor,
) -> None:
    """Apply the repayment's money again on ``on`` (as ``repayment_application.apply`` does,
    without bringing the loan current: its accruals stay)."""
    balance = ledger.balance(session, loan.customer_account)
    money = min(repayment.amount, balance.available or 0)
    # principal early moves the schedule: only when nothing accrued after ``on``
    early_allowed = loan.interest_accrued_to is None or loan.interest_accrued_to <= on
    done = settle(
        loan,
        product,
        rows,
        money,
        RepaymentPurpose(repayment.purpose),
        on,
        early_allowed=early_allowed,
    )
    if done.applied:
        key = f"loan:{loan.id}:replay:{trigger}:repayment:{repayment.id}"
        book(session, loan, repayment, on, done, actor, key=key)
    repayment.effective_date = on
    repayment.applied = done.applied
    repayment.to_credit = repayment.amount - done.applied
    repayment.note = done.note
    repayment.updated_at = clock.now()


def _charge(
    session: Session,
    loan: Loan,
    product: ProductIn,
    rows: list[LoanInstallment],
    day: dt.date,
    trigger: str,
    actor: Actor,
) -> bool:
    """The penalty interest of ``day`` on the principal overdue now, by the close's rule
    (``cob/penalty.py``: its base, rate, grace and rounding). Returns whether any was due."""
    rate = daily_rate(product.penalty, loan.annual_rate_percent)
    if rate is None:
        return False
    grace = dt.timedelta(days=product.penalty.grace_days)
    charged = [
        r
        for r in rows
        if r.state != installments.CANCELLED
        and r.due_date + grace < day
        and r.principal_paid < r.principal_due
    ]
    exact = [(r.principal_due - r.principal_paid) * rate for r in charged]
    amount = half_up(sum(exact, Fraction(0)))
    if not amount:
        return False
    by_installment = []
    for row, share in zip(charged, split(amount, exact), strict=True):
        if share:
            row.penalty_due += share
            by_installment.append([row.number, share])
    loan.penalty_outstanding += amount
    today = calendar.business_date(session)
    key = f"loan:{loan.id}:penalty:{day}:replay:{trigger}"
    entry_id = accounting.post(
        session,
        accounting.entry(
            accounting.penalty_lines(amount),
            currency=loan.currency,
            effective_date=today,
            description=f"Loan {loan.id}: penalty interest of {day}, replayed / 罚息",
            loan_id=loan.id,
            event="penalty",
        ),
        key,
    )
    session.add(
        LoanTransaction(
            id=new_id(),
            loan_id=loan.id,
            kind=K.PENALTY.value,
            business_date=today,
            effective_date=day,
            amount=amount,
            principal=0,
            interest=0,
            fee=0,
            penalty=amount,
            entry_id=entry_id,
            payment_order_id=None,
            repayment_id=None,
            idempotency_key=key,
            details={"installments": by_installment, "replay": trigger},
            actor=lifecycle.actor_name(actor),
            created_at=clock.now(),
        )
    )
    session.flush()
    return True
