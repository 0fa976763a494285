"""The manual review queue and an application as a loan officer reviews it: the applicant
masked, the score, each rule's outcome, the reasons, the model's inputs and the history;
approve (at the decision's limit or a lower one) or decline with a reason. The same services
as ``/v1/review-queue`` and ``/v1/applications/{id}/approve|decline``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.decisions.models import CreditDecision
from lendbridge.identity.kyc_models import Person
from lendbridge.identity.models import User
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session
from lendbridge.origination import applications, review, views
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.origination.schemas import ApproveIn, DeclineIn
from lendbridge.web import forms
from lendbridge.web.forms import BadInput, parse_yuan
from lendbridge.web.i18n import N_
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
FormText = Annotated[str, Form()]
READ = "applications.read"
REVIEW = "applications.review"
PAGE_SIZE = 25


@dataclass(frozen=True)
class QueueRow:
    """What the queue's table shows of an application: the applicant masked, the score."""

    id: uuid.UUID
    applied_on: dt.date
    name: str | None
    phone: str | None
    amount: int
    currency: str
    term: int
    score: int | None
    grade: str | None
    limit: int | None


def queue_rows(session: Session, rows: list[LoanApplication]) -> list[QueueRow]:
    """The page's applicants and scores in one statement (a full review view per row would
    read five more each)."""
    extra = {
        app_id: (name, phone, score)
        for app_id, name, phone, score in session.execute(
            select(LoanApplication.id, Person.name_masked, User.phone_masked, CreditDecision.score)
            .join(User, User.id == LoanApplication.customer_id)
            .outerjoin(Person, Person.user_id == LoanApplication.customer_id)
            .outerjoin(CreditDecision, CreditDecision.id == LoanApplication.decision_id)
            .where(LoanApplication.id.in_([row.id for row in rows]))
        )
    }
    return [
        QueueRow(
            id=row.id,
            applied_on=row.applied_on,
            name=extra[row.id][0],
            phone=extra[row.id][1],
            amount=row.amount,
            currency=row.currency,
            term=row.term,
            score=extra[row.id][2],
            grade=row.grade,
            limit=row.limit_amount,
        )
        for row in rows
    ]


@router.get("/staff/review", openapi_extra=page(REVIEW))
def review_queue(
    request: Request,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    rows, next_cursor = review.queue(session, limit=PAGE_SIZE, cursor=cursor)
    items = queue_rows(session, rows)
    session.rollback()
    return render(request, "staff/review_queue.html", items=items, next_cursor=next_cursor)


def _show(
    request: Request,
    session: Session,
    user: UserDep,
    application_id: uuid.UUID,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = applications.load(session, application_id)
    out = views.review_out(session, row)
    applications.audit_read(session, user.actor, row)
    session.commit()  # the view is audited, as the API's
    return render(
        request,
        "staff/review_application.html",
        status_code=status_code,
        app=out,
        may_review=user.may(REVIEW) and out.status == ApplicationStatus.IN_REVIEW.value,
        form=form or {},
        errors=errors or {},
    )


@router.get("/staff/review/{application_id}", openapi_extra=page(READ))
def review_application(
    request: Request, application_id: uuid.UUID, user: UserDep, session: SessionDep
) -> HTMLResponse:
    return _show(request, session, user, application_id)


def _pydantic_errors(exc: ValidationError, rename: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        found.setdefault(rename.get(name, name), N_("Fill in this field (at most 500 characters)."))
    return found


@router.post("/staff/review/{application_id}/approve", openapi_extra=page(REVIEW))
def approve(
    request: Request,
    application_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    limit: FormText = "",
    note: FormText = "",
) -> Response:
    form = {"limit": limit, "note": note}
    errors: dict[str, str] = {}
    fen: int | None = None
    if limit.strip():
        try:
            fen = parse_yuan(limit)
        except BadInput as bad:
            errors["limit"] = bad.message
    try:
        body = ApproveIn(limit=fen, note=note)
    except ValidationError as exc:
        errors = {**_pydantic_errors(exc, {}), **errors}
    if errors:
        return _show(
            request, session, user, application_id, form=form, errors=errors, status_code=422
        )
    return _decide(
        request,
        session,
        user,
        application_id,
        form,
        lambda: review.approve(session, application_id, body, user.actor),
        N_("The application was approved."),
    )


@router.post("/staff/review/{application_id}/decline", openapi_extra=page(REVIEW))
def decline(
    request: Request,
    application_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    reason_zh: FormText = "",
    reason_en: FormText = "",
) -> Response:
    form = {"reason_zh": reason_zh, "reason_en": reason_en}
    try:
        body = DeclineIn(reason_zh=reason_zh, reason_en=reason_en)
    except ValidationError as exc:
        errors = _pydantic_errors(exc, {})
        return _show(
            request, session, user, application_id, form=form, errors=errors, status_code=422
        )
    return _decide(
        request,
        session,
        user,
        application_id,
        form,
        lambda: review.decline(session, application_id, body, user.actor),
        N_("The application was declined."),
    )


def _decide(
    request: Request,
    session: Session,
    user: WebUser,
    application_id: uuid.UUID,
    form: dict[str, str],
    act: Callable[[], object],
    done: str,
) -> Response:
    """Run the review service; its refusal is shown on the case page, success commits."""
    refused = forms.attempt(session, act)
    if isinstance(refused, DomainError):
        errors = forms.errors_of(refused)
        return _show(
            request,
            session,
            user,
            application_id,
            form=form,
            errors=errors,
            status_code=refused.status,
        )
    return redirect(f"/staff/review/{application_id}", flash=done)
