"""The promise step of the close of business (``loans.promises``, position 55): promises to
pay (承诺还款) whose date has passed are found kept or broken.

Closing day ``D``, every ``open`` promise dated ``D`` or earlier is settled: ``kept`` when the
repayments applied to its loan since the promise was made (their money, what went to the
loan and what stayed in the customer's balance) reach the promised amount, else ``broken``;
``received`` and ``evaluated_on`` (``D``) are kept on the row and the change is audited.
Whatever the loan's status: a loan paid off in the meantime kept its promise.

Batches walk the loans that have such a promise (``loan_batches``, primary-key order, one
transaction each); the promise's own status is the watermark, so a rerun finds nothing left
and a close killed mid-step resumes with the promises it had not reached.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import system_actor
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.collections.models import PromiseStatus, PromiseToPay
from lendbridge.servicing.models import Loan, LoanRepayment, RepaymentStatus

ACTOR = system_actor("cob")
TARGET = "collection_promise"


def _repayments(
    session: Session, promises: list[PromiseToPay]
) -> dict[uuid.UUID, list[tuple[dt.datetime, int]]]:
    """The applied repayments (when applied, money) of the promises' loans since the oldest
    promise was made: one query for the batch."""
    if not promises:
        return {}
    since = min(p.created_at for p in promises)
    rows = session.execute(
        select(LoanRepayment.loan_id, LoanRepayment.updated_at, LoanRepayment.amount).where(
            LoanRepayment.loan_id.in_({p.loan_id for p in promises}),
            LoanRepayment.status == RepaymentStatus.APPLIED.value,
            LoanRepayment.updated_at >= since,
        )
    )
    found: dict[uuid.UUID, list[tuple[dt.datetime, int]]] = {}
    for loan_id, at, amount in rows:
        found.setdefault(loan_id, []).append((at, amount))
    return found


def evaluate(session: Session, loans: Sequence[Loan], through: dt.date) -> int:
    """Settle the open promises of the loans dated ``through`` or earlier; returns how many."""
    promises = session.scalars(
        select(PromiseToPay)
        .where(
            PromiseToPay.loan_id.in_([loan.id for loan in loans]),
            PromiseToPay.status == PromiseStatus.OPEN.value,
            PromiseToPay.promised_date <= through,
        )
        .order_by(PromiseToPay.id)
        .with_for_update()
    )
    due = list(promises)
    repaid = _repayments(session, due)
    now = clock.now()
    settled = 0
    for promise in due:
        # The money of the loan's repayments applied since the promise was made.
        received = sum(
            amount for at, amount in repaid.get(promise.loan_id, []) if at >= promise.created_at
        )
        kept = received >= promise.amount
        promise.status = (PromiseStatus.KEPT if kept else PromiseStatus.BROKEN).value
        promise.received = received
        promise.evaluated_on = through
        promise.updated_at = now
        promise.updated_by = ACTOR.user_id
        record(
            session,
            ACTOR,
            action=f"collections.promise.{promise.status}",
            target_type=TARGET,
            target_id=str(promise.id),
            before={"status": PromiseStatus.OPEN.value},
            after={"status": promise.status, "received": received, "amount": promise.amount},
        )
        settled += 1
    session.flush()
    return settled


@runner.step(
    "loans.promises",
    position=55,
    description="Promises to pay whose date has passed: kept or broken",
)
def promises(ctx: runner.StepContext) -> None:
    day = ctx.business_date
    pending = exists().where(
        PromiseToPay.loan_id == Loan.id,
        PromiseToPay.status == PromiseStatus.OPEN.value,
        PromiseToPay.promised_date <= day,
    )
    loan_batches(ctx, pending, lambda session, loans: evaluate(session, loans, day))
