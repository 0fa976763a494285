"""The collection step of the close of business (``loans.collect``, position 50): auto-debit
(代扣) of what is due, under the customer's debit authorisation.

Closing day ``D`` (the new business date is ``D + 1``), every repayable loan that owes money
on installments due on or before ``D + 1`` — everything overdue plus what falls due on
``D + 1``, principal, interest, fee and penalty — gets one repayment of kind ``collection``
for that amount (``repayments.request_repayment``: a ``loan_repayment`` and a payment order
sent after the commit, through the channel the loan was paid out by). Its idempotency key is
``loan:<id>:collection:<D + 1>``: one per loan and day, so a failed collection is not tried
again the same day; the next close tries again.

Skipped, and counted in the log of the step: a loan whose customer has no debit authorisation
in force (a consent to ``debit_authorization`` not withdrawn) or no bound bank card, and a
loan with a repayment or collection still on its way (never two debits for the same money).
A collection the payments domain refuses (a channel limit, say) is skipped too, and audited
as ``loans.collection.skipped`` with the reason: one loan never stops the close.

It reads only the loans that owe on installments due by ``D + 1`` (an index of the unpaid
installments by due date), not the whole portfolio, in batches in primary-key order, one
transaction each, moving those loans' watermark ``collection_as_of`` to ``D + 1`` in that
transaction; the due amounts, authorisations, cards and pending repayments of a batch are one
query each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit.actor import system_actor
from lendbridge.kit.errors import Conflict, DomainError
from lendbridge.kit.logging import get_logger
from lendbridge.payments.models import OrderKind
from lendbridge.servicing import lifecycle, repayments
from lendbridge.servicing.cob import promises as _promises
from lendbridge.servicing.cob import reminders as _reminders
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.collections import customers
from lendbridge.servicing.collections.dues import due_through, unpaid_due
from lendbridge.servicing.loan_schemas import RepaymentIn
from lendbridge.servicing.models import Loan, LoanRepayment, RepaymentPurpose, RepaymentStatus
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")
POSITION = 50  # after every step that brings the loans current to the new business date
log = get_logger(__name__)

# Importing this module registers the whole collections part of the close (``steps.py``
# imports it): the promise and reminder steps too, re-exported here.
promises = _promises.promises
remind = _reminders.remind


@dataclass
class CollectionCounts:
    created: int = 0
    no_authorisation: int = 0
    no_card: int = 0
    in_flight: int = 0
    already: int = 0  # the day's collection exists (a close that lost its watermark)
    refused: int = 0

    def add(self, other: CollectionCounts) -> None:
        self.created += other.created
        self.no_authorisation += other.no_authorisation
        self.no_card += other.no_card
        self.in_flight += other.in_flight
        self.already += other.already
        self.refused += other.refused


def collection_key(loan_id: uuid.UUID, on: dt.date) -> str:
    return f"loan:{loan_id}:collection:{on.isoformat()}"


def _in_flight(session: Session, loan_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(LoanRepayment.loan_id)
            .where(
                LoanRepayment.loan_id.in_(loan_ids),
                LoanRepayment.status == RepaymentStatus.PENDING.value,
            )
            .group_by(LoanRepayment.loan_id)
        )
    )


def _collected(session: Session, loan_ids: Sequence[uuid.UUID], on: dt.date) -> set[uuid.UUID]:
    """The loans whose collection of the day exists already, whatever became of it."""
    keys = [collection_key(loan_id, on) for loan_id in loan_ids]
    return set(
        session.scalars(
            select(LoanRepayment.loan_id).where(LoanRepayment.idempotency_key.in_(keys))
        )
    )


def collect(session: Session, loans: Sequence[Loan], on: dt.date) -> CollectionCounts:
    """Create the collections of the loans (locked by the caller) for what they owe on
    installments due on or before ``on``, and move their watermark to ``on``."""
    counts = CollectionCounts()
    ids = [loan.id for loan in loans]
    owed = due_through(session, ids, on)
    debtors = [loan for loan in loans if loan.id in owed]
    customer_ids = {loan.customer_id for loan in debtors}
    mandates = customers.debit_authorisations(session, customer_ids)
    carded = customers.with_bound_card(session, customer_ids)
    pending = _in_flight(session, [loan.id for loan in debtors])
    done = _collected(session, [loan.id for loan in debtors], on)
    for loan in debtors:
        mandate = mandates.get(loan.customer_id)
        if loan.id in done:
            counts.already += 1
        elif mandate is None:
            counts.no_authorisation += 1
        elif loan.customer_id not in carded:
            counts.no_card += 1
        elif loan.id in pending:
            counts.in_flight += 1
        else:
            _collect_one(session, loan, owed[loan.id], mandate, on, counts)
    for loan in loans:
        loan.collection_as_of = on
    session.flush()
    return counts


def _collect_one(
    session: Session, loan: Loan, amount: int, mandate: str, on: dt.date, counts: CollectionCounts
) -> None:
    try:
        with session.begin_nested():  # a refusal undoes this loan's collection only
            if not loan.disbursement_channel:
                raise Conflict(f"loan {loan.id} has no channel it was paid out through")
            request = RepaymentIn(
                channel=loan.disbursement_channel,
                purpose=RepaymentPurpose.INSTALLMENTS,
                amount=amount,
            )
            repayments.request_repayment(
                session,
                loan.id,
                request,
                idempotency_key=collection_key(loan.id, on),
                actor=ACTOR,
                kind=OrderKind.COLLECTION,
                authorisation_ref=mandate,
            )
    except DomainError as refusal:
        counts.refused += 1
        record(
            session,
            ACTOR,
            action="loans.collection.skipped",
            target_type=lifecycle.TARGET,
            target_id=str(loan.id),
            after={"date": on.isoformat(), "amount": amount, "reason": str(refusal)[:300]},
        )
        return
    counts.created += 1


@runner.step(
    "loans.collect",
    position=POSITION,
    description="Auto-debit collections for what is due, under debit authorisations",
)
def collection(ctx: runner.StepContext) -> None:
    on = ctx.business_date + dt.timedelta(days=1)
    pending = and_(
        Loan.status.in_([s.value for s in REPAYABLE]),
        or_(Loan.collection_as_of.is_(None), Loan.collection_as_of < on),  # the watermark
        # Only loans owing on installments due by then: the portfolio is not walked for the
        # few that do (``ix_loan_installment_due_pending``).
        Loan.id.in_(unpaid_due(on)),
    )
    total = CollectionCounts()

    def work(session: Session, loans: Sequence[Loan]) -> None:
        total.add(collect(session, loans, on))

    loan_batches(ctx, pending, work)
    log.info(
        "cob_collections",
        business_date=ctx.business_date.isoformat(),
        created=total.created,
        skipped_no_authorisation=total.no_authorisation,
        skipped_no_card=total.no_card,
        skipped_in_flight=total.in_flight,
        already_collected=total.already,
        refused=total.refused,
    )
