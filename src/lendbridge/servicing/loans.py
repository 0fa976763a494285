"""Loans: create (for a KYC-verified customer, from a product, amount and term), cancel before
disbursement, and read. Services flush; the edge commits.

A new loan is pinned to the newest version of an active product and priced by it
(``products.pricing.quote``: the amount within the product's range, an allowed term, the APR
within the product's cap). Its schedule is built at once from the current business date and
stored as installments; it starts for real on the day the disbursement succeeds
(``disbursement.py``), when the rows move to that date if it differs.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, cursors, idempotency
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import (
    FieldError,
    IdempotencyConflict,
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.products import pricing
from lendbridge.products import service as products
from lendbridge.products.errors import ProductNotFound, ProductRetired
from lendbridge.servicing import customers, installments, lifecycle
from lendbridge.servicing.errors import LoanNotFound
from lendbridge.servicing.loan_schemas import (
    LoanDetailOut,
    LoanIn,
    LoanOut,
    LoanPage,
    LoanTransitionOut,
    Outstanding,
    TransactionOut,
    TransactionPage,
)
from lendbridge.servicing.models import (
    Classification,
    DelinquencyBucket,
    Loan,
    LoanStatus,
    LoanTransaction,
    LoanTransition,
)


def request_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def load(session: Session, loan_id: uuid.UUID, *, lock: bool = False) -> Loan:
    """The loan (``lock``: its row locked for the rest of the transaction, read afresh)."""
    stmt = select(Loan).where(Loan.id == loan_id)
    if lock:
        stmt = stmt.with_for_update()
    loan = session.scalar(stmt.execution_options(populate_existing=True))
    if loan is None:
        raise LoanNotFound(f"no loan has id {loan_id}")
    return loan


def create_loan(
    session: Session,
    request: LoanIn,
    *,
    idempotency_key: str,
    actor: Actor,
    annual_rate_percent: Decimal | None = None,
) -> tuple[LoanDetailOut, bool]:
    """Create a loan pending disbursement; the same key with the same request returns the
    first loan. ``annual_rate_percent``: a rate below the product's (a risk-priced offer of
    the origination flow; the product's rate is the ceiling). Refuses, naming the field: an
    unknown or retired product (``product_code``), an amount outside its range (``amount``),
    a term it does not allow (``term``), a customer who is not a KYC-verified borrower
    (``customer_id``), no bound card (``bank_card_id``). Returns (loan, created)."""
    payload = request.model_dump_json()
    if annual_rate_percent is not None:
        payload += f"|rate={annual_rate_percent}"
    digest = request_hash(payload)
    known = session.scalar(select(Loan).where(Loan.idempotency_key == idempotency_key))
    if known is not None:
        return _replayed(session, known, digest), False
    try:
        product = products.product_for_new_loan(session, request.product_code)
    except ProductNotFound:
        raise field_error(ValidationFailed, "product_code", "no product has this code") from None
    except ProductRetired as retired:
        raise ProductRetired(
            retired.detail, [FieldError("product_code", "is retired: it takes no new loans")]
        ) from None
    day = calendar.business_date(session)
    if annual_rate_percent is not None:
        if not 0 <= annual_rate_percent <= Decimal(product.annual_rate_percent):
            raise field_error(
                ValidationFailed,
                "annual_rate_percent",
                f"must be between 0 and the product's {product.annual_rate_percent} %",
            )
        product = product.model_copy(update={"annual_rate_percent": str(annual_rate_percent)})
    quote = pricing.quote(product, request.amount, request.term, day)
    card = customers.verified_borrower(session, request.customer_id, request.bank_card_id)
    account = customers.open_credit_account(session, request.customer_id, product.currency)
    schedule, terms = quote.schedule, quote.terms
    now = clock.now()
    loan = Loan(
        id=new_id(),
        idempotency_key=idempotency_key,
        request_hash=digest,
        customer_id=request.customer_id,
        product_code=product.code,
        product_version=product.version,
        currency=product.currency,
        principal=request.amount,
        annual_rate_percent=product.annual_rate_percent,
        term=request.term,
        upfront_fee=schedule.upfront_fee,
        upfront_fee_deducted=terms.upfront_fee_deducted,
        installment_fee=terms.installment_fee(),
        disbursement_amount=schedule.disbursed,
        bank_card_id=card.id,
        customer_account=account,
        status=LoanStatus.PENDING_DISBURSEMENT.value,
        created_on=day,
        start_date=day,
        maturity_date=schedule.installments[-1].due_date,
        disbursement_attempts=0,
        principal_outstanding=0,
        interest_outstanding=0,
        fee_outstanding=0,
        penalty_outstanding=0,
        dpd=0,
        delinquency_bucket="current",
        classification="normal",
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
    )
    fee_at_start = 0 if terms.upfront_fee_deducted else schedule.upfront_fee
    rows = installments.rows_from_schedule(loan.id, schedule, fee_at_start=fee_at_start)
    idempotency.insert_once(session, loan)
    session.add_all(rows)
    session.add(
        LoanTransition(
            loan_id=loan.id,
            from_status=None,
            to_status=loan.status,
            reason="created",
            actor=lifecycle.actor_name(actor),
            business_date=day,
            at=now,
        )
    )
    session.flush()
    record(
        session,
        actor,
        action="loans.loan.created",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "customer_id": str(loan.customer_id),
            "product": f"{loan.product_code} v{loan.product_version}",
            "principal": loan.principal,
            "currency": loan.currency,
            "term": loan.term,
            "bank_card": card.masked,
            "idempotency_key": idempotency_key,
        },
    )
    return detail(session, loan), True


def _replayed(session: Session, loan: Loan, digest: str) -> LoanDetailOut:
    if loan.request_hash != digest:
        raise IdempotencyConflict(
            f"this idempotency key was used for loan {loan.id} with other content",
            [FieldError("body", "differs from the original")],
        )
    return detail(session, loan)


def cancel_loan(
    session: Session, loan_id: uuid.UUID, *, reason: str | None, actor: Actor
) -> LoanDetailOut:
    """Cancel a loan before any money left: refused once disbursed (an illegal transition)
    and while a disbursement order is on its way."""
    from lendbridge.servicing import disbursement  # disbursement reads loans too

    loan = load(session, loan_id, lock=True)
    if loan.status == LoanStatus.PENDING_DISBURSEMENT.value:
        disbursement.refuse_while_in_flight(session, loan)
    lifecycle.transition(
        session, loan, LoanStatus.CANCELLED, reason=reason or "cancelled", actor=actor
    )
    return detail(session, loan)


def outstanding(loan: Loan) -> Outstanding:
    return Outstanding(
        principal=loan.principal_outstanding,
        interest=loan.interest_outstanding,
        fee=loan.fee_outstanding,
        penalty=loan.penalty_outstanding,
        total=loan.principal_outstanding
        + loan.interest_outstanding
        + loan.fee_outstanding
        + loan.penalty_outstanding,
    )


def to_out(loan: Loan) -> LoanOut:
    return LoanOut(
        id=loan.id,
        customer_id=loan.customer_id,
        product_code=loan.product_code,
        product_version=loan.product_version,
        currency=loan.currency,
        principal=loan.principal,
        annual_rate_percent=loan.annual_rate_percent,
        term=loan.term,
        upfront_fee=loan.upfront_fee,
        upfront_fee_deducted=loan.upfront_fee_deducted,
        installment_fee=loan.installment_fee,
        disbursement_amount=loan.disbursement_amount,
        bank_card_id=loan.bank_card_id,
        customer_account=loan.customer_account,
        status=LoanStatus(loan.status),
        created_on=loan.created_on,
        start_date=loan.start_date,
        maturity_date=loan.maturity_date,
        disbursed_on=loan.disbursed_on,
        closed_on=loan.closed_on,
        disbursement_order_id=loan.disbursement_order_id,
        disbursement_attempts=loan.disbursement_attempts,
        disbursement_error=loan.disbursement_error,
        outstanding=outstanding(loan),
        interest_accrued_to=loan.interest_accrued_to,
        dpd=loan.dpd,
        overdue_since=loan.overdue_since,
        delinquency_bucket=DelinquencyBucket(loan.delinquency_bucket),
        classification=Classification(loan.classification),
        delinquency_as_of=loan.delinquency_as_of,
        version=loan.version,
        created_at=loan.created_at,
        updated_at=loan.updated_at,
    )


def detail(session: Session, loan: Loan) -> LoanDetailOut:
    """The loan with its schedule and status history (a schedule is at most 601 rows, the
    history a handful: neither grows with the loan's age)."""
    transitions = session.scalars(
        select(LoanTransition).where(LoanTransition.loan_id == loan.id).order_by(LoanTransition.id)
    )
    return LoanDetailOut(
        **to_out(loan).model_dump(),
        installments=[installments.to_out(r) for r in installments.load_rows(session, loan.id)],
        transitions=[
            LoanTransitionOut(
                from_status=t.from_status,
                to_status=t.to_status,
                reason=t.reason,
                actor=t.actor,
                business_date=t.business_date,
                at=t.at,
            )
            for t in transitions
        ],
    )


def get_loan(session: Session, loan_id: uuid.UUID) -> LoanDetailOut:
    return detail(session, load(session, loan_id))


def list_loans(
    session: Session,
    *,
    customer_id: uuid.UUID | None = None,
    status: LoanStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> LoanPage:
    """Newest first (ids are time-ordered UUIDv7)."""
    stmt = select(Loan)
    if customer_id is not None:
        stmt = stmt.where(Loan.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Loan.status == status.value)
    if cursor is not None:
        stmt = stmt.where(Loan.id < cursors.decode_id("l", cursor))
    rows = list(session.scalars(stmt.order_by(Loan.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return LoanPage(
        items=[to_out(loan) for loan in rows],
        next_cursor=cursors.encode_id("l", rows[-1].id) if more and rows else None,
    )


def list_transactions(
    session: Session, loan_id: uuid.UUID, *, limit: int = 100, cursor: str | None = None
) -> TransactionPage:
    """The loan's journal, oldest first, a page at a time."""
    load(session, loan_id)
    stmt = select(LoanTransaction).where(LoanTransaction.loan_id == loan_id)
    if cursor is not None:
        stmt = stmt.where(LoanTransaction.id > cursors.decode_id("t", cursor))
    rows = list(session.scalars(stmt.order_by(LoanTransaction.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return TransactionPage(
        items=[
            TransactionOut(
                id=t.id,
                kind=t.kind,
                business_date=t.business_date,
                effective_date=t.effective_date,
                amount=t.amount,
                principal=t.principal,
                interest=t.interest,
                fee=t.fee,
                penalty=t.penalty,
                entry_id=t.entry_id,
                payment_order_id=t.payment_order_id,
                repayment_id=t.repayment_id,
                details=t.details,
                actor=t.actor,
                created_at=t.created_at,
            )
            for t in rows
        ],
        next_cursor=cursors.encode_id("t", rows[-1].id) if more and rows else None,
    )
