"""Repayments (还款): the customer's money arrives through a payment order (kind repayment)
into their own credit balance (``2241.001.<customer>``); when the order succeeds, the loans
subscriber applies it to the loan here.

Applying a repayment on its effective date ``d``:

1. the loan is brought current to ``d`` (interest accrued for every day before it, fees of
   installments due by it charged: ``interest.bring_current``);
2. the money pays what is due by ``d`` in the product's allocation order
   (``allocation.allocate``): partial payments pay slot by slot, oldest installment first or
   component by component;
3. for a prepayment or payoff, what is left pays the current period's interest earned to
   ``d``, then principal early with the product's prepayment fee (``prepayment.py``): the
   whole principal pays the loan off, less rebuilds the schedule (reduce term or reduce
   installment, as the product says);
4. one ledger entry moves the money: Dr customer balance / Cr the receivables paid, Cr fee
   income for the prepayment fee. Whatever is left stays in the customer's credit balance,
   refundable by a payout order.

The effective date is the business date the order succeeded on, or the date the loan is
already accrued to if that is later; staff may record an earlier one (``effective_date``),
applied by replaying the loan from it (``replay_backdate.py``, ``replay.py``). Applying is
idempotent: a repayment is applied once (its status), and its ledger entry and transactions
carry keys derived from it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, idempotency
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import (
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.payments import orders
from lendbridge.payments.models import OrderKind
from lendbridge.payments.schemas import OrderIn
from lendbridge.servicing import (
    customers,
    disbursement,
    lifecycle,
    loans,
    order_outcome,
    replay_backdate,
)
from lendbridge.servicing.errors import RepaymentNotFound
from lendbridge.servicing.loan_schemas import RepaymentIn, RepaymentOut
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import (
    Loan,
    LoanRepayment,
    RepaymentPurpose,
    RepaymentStatus,
)
from lendbridge.servicing.payoff import payoff_quote, repayable
from lendbridge.servicing.repayment_application import apply

EVENT_TYPE = "loan.repayment"


def request_repayment(
    session: Session,
    loan_id: uuid.UUID,
    request: RepaymentIn,
    *,
    idempotency_key: str,
    actor: Actor,
    kind: OrderKind = OrderKind.REPAYMENT,
    authorisation_ref: str | None = None,
) -> tuple[RepaymentOut, bool]:
    """Ask the customer's bank (through ``request.channel``) for a repayment of the loan; the
    payment order is sent after the commit and the money applied when it succeeds. The same
    key with the same request returns the first repayment. Refuses a loan that takes no
    repayments, a prepayment the product does not allow yet, and a payoff amount below the
    quote. Returns (repayment, created).

    ``kind`` is ``repayment`` when the customer asks; the close of business collects due
    installments with ``collection`` under the customer's debit authorisation
    (``authorisation_ref``, 代扣协议)."""
    loan = loans.load(session, loan_id, lock=True)  # serialises requests of one loan
    # a request without an effective date hashes as before the field existed
    dated = request.effective_date is not None
    body = request.model_dump_json(exclude=None if dated else {"effective_date"})
    digest = loans.request_hash(f"{loan_id}:{kind.value}:{authorisation_ref}:{body}")
    known = idempotency.earlier(session, LoanRepayment, idempotency_key, digest, "repayment")
    if known is not None:
        return to_out(known), False
    if request.effective_date is not None:
        replay_backdate.check(session, loan, request.purpose, request.effective_date, actor)
    repayable(loan)
    amount = _amount(session, loan, request)
    now = clock.now()
    repayment = LoanRepayment(
        id=new_id(),
        loan_id=loan.id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        purpose=request.purpose.value,
        amount=amount,
        currency=loan.currency,
        channel=request.channel,
        order_id=new_id(),  # the order made below takes this id: one insert, no update
        status=RepaymentStatus.PENDING.value,
        effective_date=request.effective_date,  # back-dated: applied on it (replay)
        applied=0,
        to_credit=0,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
    )
    idempotency.insert_once(session, repayment)
    order, _ = orders.create_order(
        session,
        OrderIn(
            kind=kind,
            channel=request.channel,
            account=loan.customer_account,
            amount=amount,
            currency=loan.currency,
            party=customers.party(session, loan.customer_id, loan.bank_card_id),
            authorisation_ref=authorisation_ref,
            event_type=EVENT_TYPE,
            event_id=str(repayment.id),
            memo=f"loan {loan.id} {request.purpose.value}",
        ),
        # made from the repayment's new id: no earlier order can hold it
        idempotency_key=f"loan-repayment:{repayment.id}",
        actor=actor,
        timezone=disbursement.timezone(),
        order_id=repayment.order_id,
    )
    record(
        session,
        actor,
        action="loans.repayment.requested",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "repayment_id": str(repayment.id),
            "order_id": str(order.id),
            "purpose": repayment.purpose,
            "amount": amount,
            "channel": request.channel,
        },
    )
    return to_out(repayment), True


def _amount(session: Session, loan: Loan, request: RepaymentIn) -> int:
    if request.purpose is RepaymentPurpose.INSTALLMENTS:
        if request.amount is None:
            raise field_error(ValidationFailed, "amount", "is required")
        return request.amount
    day = calendar.business_date(session)
    quote = payoff_quote(session, loan, max(day, loan.interest_accrued_to or day))
    if not quote.prepayment_allowed:
        product = product_of(session, loan)
        raise field_error(
            ValidationFailed,
            "purpose",
            f"product {loan.product_code} accepts prepayment after "
            f"{product.prepayment.allowed_after} installments are paid",
        )
    if request.purpose is RepaymentPurpose.PREPAYMENT:
        if request.amount is None:
            raise field_error(ValidationFailed, "amount", "is required")
        return request.amount
    if request.amount is None:
        return quote.total
    if request.amount < quote.total:
        raise field_error(
            ValidationFailed,
            "amount",
            f"is below the payoff amount of {quote.total} on {quote.date}",
            payoff=quote.total,
        )
    return request.amount


def on_outcome(session: Session, repayment_id: uuid.UUID, order_id: uuid.UUID, actor: Actor) -> str:
    """Apply the outcome of a repayment's payment order; returns what it did."""
    done = order_outcome.finish(
        session, LoanRepayment, repayment_id, order_id, actor, noun="repayment"
    )
    if isinstance(done, str):
        return done
    loan, repayment, order = done.loan, done.row, done.order
    if repayment.effective_date is not None:  # back-dated by staff
        replay_backdate.apply_backdated(session, loan, repayment, actor)
        return "applied"
    apply(session, loan, repayment, order.completed_on or calendar.business_date(session), actor)
    return "applied"


def to_out(repayment: LoanRepayment) -> RepaymentOut:
    return RepaymentOut(
        id=repayment.id,
        loan_id=repayment.loan_id,
        purpose=RepaymentPurpose(repayment.purpose),
        amount=repayment.amount,
        currency=repayment.currency,
        channel=repayment.channel,
        order_id=repayment.order_id,
        status=RepaymentStatus(repayment.status),
        effective_date=repayment.effective_date,
        applied=repayment.applied,
        to_credit=repayment.to_credit,
        note=repayment.note,
        created_at=repayment.created_at,
    )


def get_repayment(session: Session, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> RepaymentOut:
    repayment = session.get(LoanRepayment, repayment_id)
    if repayment is None or repayment.loan_id != loan_id:
        raise RepaymentNotFound(f"loan {loan_id} has no repayment {repayment_id}")
    return to_out(repayment)


def list_repayments(session: Session, loan_id: uuid.UUID, limit: int = 100) -> list[RepaymentOut]:
    """The loan's repayments, newest first."""
    loans.load(session, loan_id)
    rows = session.scalars(
        select(LoanRepayment)
        .where(LoanRepayment.loan_id == loan_id)
        .order_by(LoanRepayment.id.desc())
        .limit(limit)
    )
    return [to_out(r) for r in rows]
