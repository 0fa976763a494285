"""What the platform told the borrower, gathered from what it records per customer: the
decisions on their applications, their loans' status changes (paid out, overdue, paid off),
repayments received and the reminders sent before and after a due date. Nothing stores a
"read" mark per notice, so a cookie holds when this page was last opened (no personal data)
and the home page counts what is newer."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from lendbridge.kit import clock
from lendbridge.origination.models import ApplicationTransition, LoanApplication
from lendbridge.servicing.collections.models import CollectionReminder, ReminderStatus
from lendbridge.servicing.models import Loan, LoanRepayment, LoanTransition
from lendbridge.web import nav, sessions
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import SessionDep
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
SEEN_COOKIE = "lb_notes_seen"
LIMIT = 50

APPLICATION_NOTICES = {
    "offered": N_("Your application was approved: an offer is waiting for your signature."),
    "declined": N_("Your application was declined."),
    "in_review": N_("Your application is being reviewed by a loan officer."),
    "expired": N_("Your offer expired."),
    "signed": N_("You signed the contract; the money is being paid out."),
}
LOAN_NOTICES = {
    "active": N_("Your loan was paid out to your bank card."),
    "overdue": N_("Your loan is overdue. Please repay as soon as you can."),
    "paid_off": N_("Your loan is paid off."),
    "cancelled": N_("Your loan was cancelled."),
}
REPAYMENT_RECEIVED = N_("We received your repayment.")
REMINDERS = {
    "before": N_("An installment is due soon."),
    "on": N_("An installment is due today."),
    "after": N_("An installment is overdue."),
}


@dataclass(frozen=True)
class Notice:
    at: dt.datetime
    text: str  # an English message id
    link: str
    amount: int | None = None
    currency: str = "CNY"
    day: dt.date | None = None


def _since(
    seen: dt.datetime | None, column: InstrumentedAttribute[dt.datetime] | Any
) -> list[ColumnElement[bool]]:
    return [column > seen] if seen is not None else []


def notices(
    session: Session, customer_id: uuid.UUID, *, since: dt.datetime | None = None
) -> list[Notice]:
    """The customer's notices, newest first (at most ``LIMIT`` of each kind)."""
    found: list[Notice] = []
    apps = session.execute(
        select(
            ApplicationTransition.application_id,
            ApplicationTransition.to_status,
            ApplicationTransition.at,
        )
        .join(LoanApplication, LoanApplication.id == ApplicationTransition.application_id)
        .where(
            LoanApplication.customer_id == customer_id,
            ApplicationTransition.to_status.in_(APPLICATION_NOTICES),
            *_since(since, ApplicationTransition.at),
        )
        .order_by(ApplicationTransition.at.desc())
        .limit(LIMIT)
    )
    found += [
        Notice(at, APPLICATION_NOTICES[status], f"/applications/{app_id}")
        for app_id, status, at in apps
    ]
    moves = session.execute(
        select(LoanTransition.loan_id, LoanTransition.to_status, LoanTransition.at)
        .join(Loan, Loan.id == LoanTransition.loan_id)
        .where(
            Loan.customer_id == customer_id,
            LoanTransition.to_status.in_(LOAN_NOTICES),
            *_since(since, LoanTransition.at),
        )
        .order_by(LoanTransition.at.desc())
        .limit(LIMIT)
    )
    found += [
        Notice(at, LOAN_NOTICES[status], f"/loans/{loan_id}") for loan_id, status, at in moves
    ]
    paid = session.execute(
        select(
            LoanRepayment.loan_id,
            LoanRepayment.amount,
            LoanRepayment.currency,
            LoanRepayment.updated_at,
        )
        .join(Loan, Loan.id == LoanRepayment.loan_id)
        .where(
            Loan.customer_id == customer_id,
            LoanRepayment.status == "applied",
            *_since(since, LoanRepayment.updated_at),
        )
        .order_by(LoanRepayment.updated_at.desc())
        .limit(LIMIT)
    )
    found += [
        Notice(at, REPAYMENT_RECEIVED, f"/loans/{loan_id}", amount, currency)
        for loan_id, amount, currency, at in paid
    ]
    reminded = session.execute(
        select(
            CollectionReminder.loan_id,
            CollectionReminder.kind,
            CollectionReminder.amount,
            CollectionReminder.currency,
            CollectionReminder.due_date,
            CollectionReminder.sent_at,
        )
        .join(Loan, Loan.id == CollectionReminder.loan_id)
        .where(
            Loan.customer_id == customer_id,
            CollectionReminder.status == ReminderStatus.SENT.value,
            CollectionReminder.sent_at.is_not(None),
            *_since(since, CollectionReminder.sent_at),
        )
        .order_by(CollectionReminder.sent_at.desc())
        .limit(LIMIT)
    )
    found += [
        Notice(at, REMINDERS.get(kind, REMINDERS["on"]), f"/loans/{loan_id}", amount, currency, due)
        for loan_id, kind, amount, currency, due, at in reminded
        if at is not None
    ]
    return sorted(found, key=lambda n: n.at, reverse=True)


def last_seen(request: Request) -> dt.datetime | None:
    raw = request.cookies.get(SEEN_COOKIE)
    try:
        return dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def unread_count(request: Request, session: Session, customer_id: uuid.UUID) -> int:
    return len(notices(session, customer_id, since=last_seen(request)))


@router.get("/notifications", openapi_extra=page(nav.CUSTOMER))
def notifications_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    seen = last_seen(request)
    items = notices(session, user.user_id)
    response = render(request, "portal/notifications.html", notices=items, seen=seen)
    response.set_cookie(
        SEEN_COOKIE,
        clock.now().isoformat(),
        max_age=365 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=sessions.is_secure(request),
    )
    return response
