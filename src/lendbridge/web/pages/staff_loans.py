"""A loan as staff see it: terms, status, classification, balances, schedule, transactions,
the ledger entries that book them, its payment orders and its audit history (each section
only with its read permission). Reads the same services as ``GET /v1/loans/{id}``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.kit.http import get_session
from lendbridge.ledger.models import Account, Entry, Posting
from lendbridge.payments.models import PaymentOrder
from lendbridge.servicing import lifecycle, loans
from lendbridge.servicing.models import Loan, LoanRepayment, LoanTransaction
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
ENTRIES = 100  # the loan's latest ledger entries shown
AUDIT = 100
TRANSACTIONS = 100


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    effective_date: dt.date
    description: str
    event_type: str | None
    lines: list[tuple[str, str, int, str]]  # account code, side, amount, currency


def ledger_entries(session: Session, loan_id: uuid.UUID, limit: int = ENTRIES) -> list[EntryView]:
    """The journal entries that book the loan's transactions (the latest ``limit``), with
    their postings: two queries."""
    ids = (
        select(LoanTransaction.entry_id)
        .where(LoanTransaction.loan_id == loan_id, LoanTransaction.entry_id.is_not(None))
        .order_by(LoanTransaction.id.desc())
        .limit(limit)
    ).subquery()
    entries = list(
        session.execute(
            select(Entry.id, Entry.effective_date, Entry.description, Entry.event_type)
            .where(Entry.id.in_(select(ids.c.entry_id)))
            .order_by(Entry.effective_date, Entry.created_at, Entry.id)
        )
    )
    lines: dict[uuid.UUID, list[tuple[str, str, int, str]]] = {e.id: [] for e in entries}
    for entry_id, code, side, amount, currency in session.execute(
        select(Posting.entry_id, Account.code, Posting.side, Posting.amount, Posting.currency)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id.in_(select(ids.c.entry_id)))
        .order_by(Posting.entry_id, Posting.line)
    ):
        lines[entry_id].append((code, side, amount, currency))
    return [
        EntryView(e.id, e.effective_date, e.description, e.event_type, lines[e.id]) for e in entries
    ]


def payment_orders(session: Session, loan: Loan) -> list[PaymentOrder]:
    """The disbursement's order and the repayments' orders."""
    repayment_orders = select(LoanRepayment.order_id).where(
        LoanRepayment.loan_id == loan.id, LoanRepayment.order_id.is_not(None)
    )
    wanted: ColumnElement[bool] = PaymentOrder.id.in_(repayment_orders)
    if loan.disbursement_order_id is not None:
        wanted = or_(wanted, PaymentOrder.id == loan.disbursement_order_id)
    return list(session.scalars(select(PaymentOrder).where(wanted).order_by(PaymentOrder.id)))


def audit_history(session: Session, loan_id: uuid.UUID, limit: int = AUDIT) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.target_type == lifecycle.TARGET,
                AuditRecord.target_id == str(loan_id),
            )
            .order_by(AuditRecord.seq.desc())
            .limit(limit)
        )
    )


@router.get("/staff/loans/{loan_id}", openapi_extra=page("loans.read"))
def loan_page(
    request: Request,
    loan_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    tx: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    loan = loans.load(session, loan_id)
    detail = loans.detail(session, loan)
    transactions = loans.list_transactions(session, loan_id, limit=TRANSACTIONS, cursor=tx)
    context: dict[str, Any] = {
        "loan": detail,
        "transactions": transactions,
        "entries": ledger_entries(session, loan_id) if user.may("ledger.read") else None,
        "orders": payment_orders(session, loan) if user.may("payments.read") else None,
        "audit": audit_history(session, loan_id) if user.may("audit.read") else None,
    }
    session.rollback()
    return render(request, "staff/loan.html", **context)
