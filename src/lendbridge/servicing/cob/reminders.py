"""The reminder step of the close of business (``loans.remind``, position 60): repayment
reminders by SMS before, on and after each installment's due date.

Closing day ``D``, the day reminded of is ``D + 1`` (the new business date). For every
repayable loan, each installment not fully paid whose due date is ``D + 1 + b`` for a "days
before" offset ``b`` (default 3), ``D + 1`` itself, or ``D + 1 - a`` for a "days after"
offset ``a`` (default 1, 3, 7, 15, 30) gets one reminder row: kind ``before``/``on``/``after``,
the offset, the template (``repayment_due_soon``/``_due_today``/``_overdue``) and what the
installment owes. The rows are unique per (loan, installment, kind, offset): recording one
twice is a no-op, so no customer is reminded twice of the same thing.

The rows are recorded in the batch's transaction, which also queues the job that sends them
(``collections/notifications.py``) and moves the loans' watermark ``reminder_as_of`` to
``D + 1``: a batch that rolls back sends nothing, and a close killed mid-step resumes with the
loans it had not reached. Only loans with an unpaid installment due on one of the policy's few
dates are read (an index of the unpaid installments by due date), and their installments are
one query per batch, so the step costs what is reminded, not the portfolio.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock, db
from lendbridge.kit.ids import new_id
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.collections import notifications
from lendbridge.servicing.collections.dues import owed, unpaid_due
from lendbridge.servicing.collections.models import (
    CollectionReminder,
    ReminderKind,
    ReminderStatus,
)
from lendbridge.servicing.models import InstallmentState, Loan, LoanInstallment
from lendbridge.servicing.states import REPAYABLE

TEMPLATES = {
    ReminderKind.BEFORE: "repayment_due_soon",
    ReminderKind.ON: "repayment_due_today",
    ReminderKind.AFTER: "repayment_overdue",
}


@dataclass(frozen=True)
class ReminderPolicy:
    """When customers are reminded, in days relative to an installment's due date."""

    days_before: tuple[int, ...] = (3,)
    on_due_date: bool = True
    days_after: tuple[int, ...] = (1, 3, 7, 15, 30)

    def __post_init__(self) -> None:
        if any(d <= 0 for d in (*self.days_before, *self.days_after)):
            raise ValueError("reminder offsets are whole days greater than 0")

    def offsets(self, on: dt.date) -> dict[dt.date, list[tuple[ReminderKind, int]]]:
        """For the day ``on``: the due dates reminded of, and each one's (kind, offset)."""
        found: dict[dt.date, list[tuple[ReminderKind, int]]] = {}
        for days in sorted(set(self.days_before)):
            found.setdefault(on + dt.timedelta(days=days), []).append((ReminderKind.BEFORE, days))
        if self.on_due_date:
            found.setdefault(on, []).append((ReminderKind.ON, 0))
        for days in sorted(set(self.days_after)):
            found.setdefault(on - dt.timedelta(days=days), []).append((ReminderKind.AFTER, days))
        return found


POLICY = ReminderPolicy()


def record_reminders(
    session: Session, loans: Sequence[Loan], on: dt.date, policy: ReminderPolicy = POLICY
) -> list[uuid.UUID]:
    """Record the reminders of day ``on`` for the loans (locked by the caller), queue their
    sending and move the loans' watermark; returns the ids recorded."""
    by_due = policy.offsets(on)
    by_id = {loan.id: loan for loan in loans}
    i = LoanInstallment
    rows = session.execute(
        select(i.loan_id, i.number, i.due_date, owed())
        .where(
            i.loan_id.in_(list(by_id)),
            i.due_date.in_(list(by_due)),
            i.state == InstallmentState.PENDING.value,
        )
        .order_by(i.loan_id, i.number)
    )
    now = clock.now()
    values: list[dict[str, Any]] = []
    for loan_id, number, due_date, amount in rows:
        if not amount or amount <= 0:
            continue
        for kind, offset in by_due[due_date]:
            values.append(
                {
                    "id": new_id(),
                    "loan_id": loan_id,
                    "installment": number,
                    "kind": kind.value,
                    "offset_days": offset,
                    "due_date": due_date,
                    "business_date": on,
                    "template": TEMPLATES[kind],
                    "amount": int(amount),
                    "currency": by_id[loan_id].currency,
                    "status": ReminderStatus.PENDING.value,
                    "created_at": now,
                    "sent_at": None,
                }
            )
    recorded: list[uuid.UUID] = []
    if values:
        table = cast(Table, CollectionReminder.__table__)
        session.execute(db.insert_ignoring_duplicates(session, table), values)
        # The rows this call wrote (a duplicate kept its first id and stays as it was).
        recorded = list(
            session.scalars(
                select(CollectionReminder.id).where(
                    CollectionReminder.id.in_([v["id"] for v in values])
                )
            )
        )
        notifications.queue(session, recorded)
    for loan in loans:
        loan.reminder_as_of = on
    session.flush()
    return recorded


@runner.step(
    "loans.remind",
    position=60,
    description="Repayment reminders before, on and after due dates (sent after the commit)",
)
def remind(ctx: runner.StepContext) -> None:
    on = ctx.business_date + dt.timedelta(days=1)
    pending = and_(
        Loan.status.in_([s.value for s in REPAYABLE]),
        or_(Loan.reminder_as_of.is_(None), Loan.reminder_as_of < on),  # the watermark
        # Only loans with an unpaid installment due on a reminded date: the portfolio is not
        # walked for the few (``ix_loan_installment_due_pending``).
        Loan.id.in_(unpaid_due(on, *POLICY.offsets(on))),
    )
    loan_batches(ctx, pending, lambda session, loans: record_reminders(session, loans, on))
