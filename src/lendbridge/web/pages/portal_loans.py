"""The borrower's own loans: the list, one loan (status, next due, outstanding, the
schedule, repayments and history), repaying, prepaying and paying off (the services of the
repayment order and the payoff quote). Another customer's loan is "not found"."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit import calendar
from lendbridge.kit.errors import DomainError
from lendbridge.ledger.service.reads import balance
from lendbridge.servicing import loans, payoff, repayments
from lendbridge.servicing.errors import LoanNotFound
from lendbridge.servicing.loan_schemas import RepaymentIn
from lendbridge.servicing.models import (
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanStatus,
    RepaymentPurpose,
)
from lendbridge.web import forms, nav
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import (
    SessionDep,
    choices,
    form_key,
    new_key,
    parse_yuan,
    scoped_key,
)
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]

REPAYABLE = (LoanStatus.ACTIVE.value, LoanStatus.OVERDUE.value, LoanStatus.RESTRUCTURED.value)

_REMAINING = (
    LoanInstallment.principal_due
    + LoanInstallment.interest_due
    + LoanInstallment.fee_due
    + LoanInstallment.penalty_due
    - LoanInstallment.principal_paid
    - LoanInstallment.interest_paid
    - LoanInstallment.fee_paid
    - LoanInstallment.penalty_paid
)


def next_due(session: Session, customer_id: uuid.UUID) -> dict[uuid.UUID, tuple[dt.date, int]]:
    """Each open loan of the customer → (its earliest unpaid installment's due date, what is
    left of it), in one query."""
    pending = (LoanInstallment.state == InstallmentState.PENDING.value, LoanInstallment.number > 0)
    first = (
        select(LoanInstallment.loan_id, func.min(LoanInstallment.due_date).label("due"))
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(Loan.customer_id == customer_id, Loan.status.in_(REPAYABLE), *pending)
        .group_by(LoanInstallment.loan_id)
        .subquery()
    )
    rows = session.execute(
        select(LoanInstallment.loan_id, LoanInstallment.due_date, func.sum(_REMAINING))
        .join(
            first,
            (first.c.loan_id == LoanInstallment.loan_id)
            & (first.c.due == LoanInstallment.due_date),
        )
        .where(*pending)
        .group_by(LoanInstallment.loan_id, LoanInstallment.due_date)
    )
    return {loan_id: (due, int(left or 0)) for loan_id, due, left in rows}


def amount_due(session: Session, loan_id: uuid.UUID, day: dt.date) -> int:
    """What is due on the loan by ``day`` and not paid (the next installment if nothing is)."""
    pending = (
        LoanInstallment.loan_id == loan_id,
        LoanInstallment.state == InstallmentState.PENDING.value,
    )
    overdue = session.scalar(
        select(func.coalesce(func.sum(_REMAINING), 0)).where(
            *pending, LoanInstallment.due_date <= day
        )
    )
    if overdue:
        return int(overdue)
    upcoming = session.scalar(
        select(_REMAINING).where(*pending).order_by(LoanInstallment.due_date).limit(1)
    )
    return int(upcoming or 0)


def own_loan(session: Session, loan_id: uuid.UUID, user: WebUser) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None or loan.customer_id != user.user_id:
        raise LoanNotFound(f"no loan has id {loan_id}")
    return loan


@router.get("/loans", openapi_extra=page(nav.CUSTOMER))
def loans_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    mine = loans.list_loans(session, customer_id=user.user_id, limit=100).items
    return render(
        request,
        "portal/loans.html",
        loans=mine,
        due=next_due(session, user.user_id),
    )


def _loan_page(
    request: Request,
    session: Session,
    user: WebUser,
    loan_id: uuid.UUID,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    loan = own_loan(session, loan_id, user)
    detail = loans.detail(session, loan)
    day = calendar.business_date(session)
    repayable = loan.status in REPAYABLE
    quote = (
        payoff.payoff_quote(session, loan, max(day, loan.interest_accrued_to or day))
        if repayable
        else None
    )
    due = amount_due(session, loan.id, day) if repayable else 0
    credit = balance(session, loan.customer_account).balance
    defaults = {
        "key": new_key(),
        "purpose": RepaymentPurpose.INSTALLMENTS.value,
        "amount": str(Decimal(due).scaleb(-2)) if due else "",
    }
    return render(
        request,
        "portal/loan.html",
        status_code=status,
        loan=detail,
        next=next_due(session, user.user_id).get(loan.id),
        due=due,
        quote=quote,
        credit=credit,
        repayable=repayable,
        repayments=repayments.list_repayments(session, loan.id, 20),
        purposes=choices("repayment_purpose"),
        form={**defaults, **form},
        errors=errors,
    )


@router.get("/loans/{loan_id}", openapi_extra=page(nav.CUSTOMER))
def loan_page(
    request: Request, loan_id: uuid.UUID, session: SessionDep, user: UserDep
) -> HTMLResponse:
    return _loan_page(request, session, user, loan_id, {}, {})


@router.post("/loans/{loan_id}/repay", openapi_extra=page(nav.CUSTOMER))
def repay(
    request: Request,
    loan_id: uuid.UUID,
    session: SessionDep,
    user: UserDep,
    purpose: Text = "",
    amount: Text = "",
    key: Text = "",
) -> Response:
    loan = own_loan(session, loan_id, user)
    form = {"purpose": purpose, "amount": amount.strip(), "key": key}
    errors: dict[str, str] = {}
    idempotency = form_key(key)
    if idempotency is None:
        errors[""] = N_("The form has expired; check it and send it again.")
    try:
        chosen = RepaymentPurpose(purpose)
    except ValueError:
        chosen = None
        errors["purpose"] = N_("Choose one of the options.")
    fen: int | None = None
    if not (chosen is RepaymentPurpose.PAYOFF and not form["amount"]):
        fen, problem = parse_yuan(form["amount"])
        if problem:
            errors["amount"] = problem
    if errors or chosen is None or idempotency is None:
        return _loan_page(request, session, user, loan_id, form, errors, 422)
    channel = loan.disbursement_channel or get_settings().disbursement_channel
    body = RepaymentIn(channel=channel, purpose=chosen, amount=fen)
    try:
        repayments.request_repayment(
            session,
            loan.id,
            body,
            idempotency_key=scoped_key(user, idempotency, "repay"),
            actor=user.actor,
        )
    except DomainError as exc:
        session.rollback()
        return _loan_page(request, session, user, loan_id, form, forms.errors_of(exc), exc.status)
    session.commit()
    return redirect(
        f"/loans/{loan_id}", flash=N_("Your repayment is on its way from your bank card.")
    )
