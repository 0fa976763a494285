"""Loan routes under /v1/loans: create (staff, for a KYC-verified customer), read, list,
disburse, cancel, repay, payoff quote. Every POST that moves money — or creates what will —
takes an ``Idempotency-Key``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response, status
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission
from lendbridge.kit.schemas import IsoDate

# The subscriber module registers the loans job, so a server built with these routes runs it
# even before it emits its first event (e.g. jobs left over from before a restart).
from lendbridge.servicing import disbursement, loans, payoff, repayments, subscribers  # noqa: F401
from lendbridge.servicing.loan_schemas import (
    CancelIn,
    DisburseIn,
    LoanDetailOut,
    LoanIn,
    LoanPage,
    PayoffQuoteOut,
    RepaymentIn,
    RepaymentOut,
    TransactionPage,
)
from lendbridge.servicing.models import LoanStatus

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/loans",
    tags=["loans"],
    responses=problems.responses(400, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]

READ = permission("loans.read")
MANAGE = permission("loans.manage")
REPAY = permission("loans.repay")


def _created(response: Response, created: bool) -> None:
    if not created:
        response.status_code = status.HTTP_200_OK


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=MANAGE)
def create_loan(
    body: LoanIn, key: KeyDep, actor: ActorDep, session: SessionDep, response: Response
) -> LoanDetailOut:
    """Create a loan for a KYC-verified customer under a product's newest version: priced and
    scheduled at once, pending disbursement. Repeating the request with the same key returns
    the first loan (200)."""
    out, created = loans.create_loan(session, body, idempotency_key=key, actor=actor)
    session.commit()
    _created(response, created)
    return out


@router.get("", openapi_extra=READ)
def list_loans(
    session: SessionDep,
    customer_id: uuid.UUID | None = None,
    status_filter: Annotated[LoanStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LoanPage:
    """Loans, newest first, a page at a time (``next_cursor``)."""
    return loans.list_loans(
        session, customer_id=customer_id, status=status_filter, limit=limit, cursor=cursor
    )


@router.get("/{loan_id}", openapi_extra=READ)
def get_loan(loan_id: uuid.UUID, session: SessionDep) -> LoanDetailOut:
    """A loan with its schedule (installments, paid and due), balances and status history."""
    return loans.get_loan(session, loan_id)


@router.get("/{loan_id}/transactions", openapi_extra=READ)
def list_transactions(
    loan_id: uuid.UUID,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TransactionPage:
    """The loan's own journal, oldest first: each transaction with the ledger entry that
    books it."""
    return loans.list_transactions(session, loan_id, limit=limit, cursor=cursor)


@router.post(
    "/{loan_id}/disburse",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=MANAGE,
    responses={200: {"model": LoanDetailOut, "description": "The same request again."}},
)
def disburse(
    loan_id: uuid.UUID,
    body: DisburseIn,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    response: Response,
) -> LoanDetailOut:
    """Pay the loan out to the customer's bank card: a disbursement payment order, sent
    after the commit; the loan becomes active when it succeeds (202). After a failed
    disbursement, a new key retries."""
    out, created = disbursement.disburse(session, loan_id, body, idempotency_key=key, actor=actor)
    session.commit()
    _created(response, created)
    return out


@router.post("/{loan_id}/cancel", openapi_extra=MANAGE)
def cancel(
    loan_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    body: Annotated[CancelIn | None, Body()] = None,
) -> LoanDetailOut:
    """Cancel a loan before disbursement (refused once money left, or while it is leaving)."""
    out = loans.cancel_loan(session, loan_id, reason=body.reason if body else None, actor=actor)
    session.commit()
    return out


@router.post("/{loan_id}/repayments", status_code=status.HTTP_201_CREATED, openapi_extra=REPAY)
def request_repayment(
    loan_id: uuid.UUID,
    body: RepaymentIn,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    response: Response,
) -> RepaymentOut:
    """Collect a repayment from the customer's bank card: a repayment payment order, sent
    after the commit, applied to the loan when it succeeds (what is left stays in the
    customer's credit balance). Repeating the request with the same key returns the first
    repayment (200)."""
    out, created = repayments.request_repayment(
        session, loan_id, body, idempotency_key=key, actor=actor
    )
    session.commit()
    _created(response, created)
    return out


@router.get("/{loan_id}/repayments", openapi_extra=READ)
def list_repayments(
    loan_id: uuid.UUID,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RepaymentOut]:
    """The loan's repayments, newest first."""
    return repayments.list_repayments(session, loan_id, limit)


@router.get("/{loan_id}/payoff-quote", openapi_extra=READ)
def payoff_quote(
    loan_id: uuid.UUID,
    session: SessionDep,
    on: Annotated[
        IsoDate | None,
        Query(alias="date", description="The day to pay off (default: the business date)."),
    ] = None,
) -> PayoffQuoteOut:
    """What paying the whole loan off on the date costs: principal, interest accrued to the
    date, fees due, penalties and the prepayment fee. Nothing is booked."""
    loan = loans.load(session, loan_id)
    day: dt.date = on or max(
        calendar.business_date(session), loan.interest_accrued_to or dt.date.min
    )
    return payoff.payoff_quote(session, loan, day)
