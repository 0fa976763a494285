"""``/staff/collections``: the collector queue (overdue loans by bucket, their collector, last
contact and open promise), and a loan's collection work: its collector, contact log and
promises to pay, with the forms that assign the loan, log a contact, record a promise and
cancel an open one (the services the ``/v1/collections`` and
``/v1/loans/{id}/collection/assign|contacts|promises`` routes call, audited there)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity.models import RolePermission, User, UserKind, UserRole, UserStatus
from lendbridge.kit.errors import DomainError
from lendbridge.servicing.collections import promises, work
from lendbridge.servicing.collections.models import ContactChannel, ContactOutcome
from lendbridge.servicing.collections.queue import QueueBucket, queue
from lendbridge.servicing.collections.schemas import ContactIn, PromiseIn
from lendbridge.web.forms import BadInput, attempt, parse_yuan
from lendbridge.web.i18n import N_
from lendbridge.web.labels import label
from lendbridge.web.pages.office_common import (
    SessionDep,
    field_errors,
    shown,
    usernames,
)
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
READ = "collections.read"
MANAGE = "collections.manage"


def collectors(session: Session) -> list[tuple[str, str]]:
    """(id, username) of the active staff whose roles grant collections.manage: whom a loan
    can be given to (the service checks it again when assigning)."""
    rows = session.execute(
        select(User.id, User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .join(RolePermission, RolePermission.role_code == UserRole.role_code)
        .where(
            User.kind == UserKind.STAFF.value,
            User.status == UserStatus.ACTIVE.value,
            RolePermission.permission_code == MANAGE,
        )
        .distinct()
        .order_by(User.username)
        .limit(500)
    )
    return [(str(user_id), name or str(user_id)) for user_id, name in rows]


@router.get("/staff/collections", openapi_extra=page(READ))
def collector_queue(
    request: Request,
    user: UserDep,
    session: SessionDep,
    bucket: Annotated[QueueBucket | None, Query()] = None,
    mine: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    found = queue(
        session,
        bucket=bucket,
        assignee=user.user_id if mine else None,
        limit=50,
        cursor=cursor,
    )
    names = usernames(session, [str(i.assignee) for i in found.items if i.assignee])
    return render(
        request,
        "office/collections.html",
        items=found.items,
        next_cursor=found.next_cursor,
        bucket=bucket.value if bucket else "",
        buckets=[b.value for b in QueueBucket],
        mine=mine,
        names=names,
    )


def _loan_page(
    request: Request,
    session: Session,
    user: WebUser,
    loan_id: uuid.UUID,
    *,
    contact: dict[str, str] | None = None,
    promise: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    contacts = work.list_contacts(session, loan_id, 100)
    promised = promises.list_promises(session, loan_id, 100)
    assigned = work.current_assignment(session, loan_id)
    collector = str(assigned.collector_id) if assigned else ""
    names = usernames(
        session, [c.actor for c in contacts] + [p.created_by for p in promised] + [collector]
    )
    return render(
        request,
        "office/collection_loan.html",
        status_code=status_code,
        loan_id=loan_id,
        contacts=contacts,
        promises=promised,
        names=names,
        collector=collector,
        collectors=[("", "—"), *collectors(session)] if user.may(MANAGE) else [],
        channels=[(c.value, label(c, "contact_channel")) for c in ContactChannel],
        outcomes=[(o.value, label(o, "contact_outcome")) for o in ContactOutcome],
        may_manage=user.may(MANAGE),
        contact=contact or {},
        promise=promise or {"key": uuid.uuid4().hex},
        errors=errors or {},
    )


@router.get("/staff/collections/{loan_id}", openapi_extra=page(READ))
def loan_work(
    request: Request, loan_id: uuid.UUID, user: UserDep, session: SessionDep
) -> HTMLResponse:
    return _loan_page(request, session, user, loan_id)


Text = Annotated[str, Form()]


@router.post("/staff/collections/{loan_id}/contacts", openapi_extra=page(MANAGE))
def log_contact(
    request: Request,
    loan_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    channel: Text = "",
    outcome: Text = "",
    note: Text = "",
) -> Response:
    form = {"channel": channel, "outcome": outcome, "note": note}
    try:
        body = ContactIn.model_validate(
            {"channel": channel, "outcome": outcome, "note": note.strip() or None}
        )
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]): N_("Choose one of the options.")
            if e["loc"][0] != "note"
            else N_("The note is too long.")
            for e in exc.errors()
        }
        return _loan_page(
            request, session, user, loan_id, contact=form, errors=errors, status_code=422
        )
    refused = attempt(session, lambda: work.log_contact(session, loan_id, body, user.actor))
    if isinstance(refused, DomainError):
        fields = {"channel": "channel", "outcome": "outcome", "note": "note"}
        errors = field_errors(refused, fields)
        return _loan_page(
            request, session, user, loan_id, contact=form, errors=errors, status_code=refused.status
        )
    return redirect(f"/staff/collections/{loan_id}", flash=N_("Contact logged."))


@router.post("/staff/collections/{loan_id}/promises", openapi_extra=page(MANAGE))
def make_promise(
    request: Request,
    loan_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    amount: Text = "",
    promised_date: Text = "",
    key: Text = "",
) -> Response:
    form = {"amount": amount, "promised_date": promised_date, "key": key or uuid.uuid4().hex}
    errors: dict[str, str] = {}
    fen = 0
    day: dt.date | None = None
    try:
        fen = parse_yuan(amount)
    except BadInput as exc:
        errors["amount"] = exc.message
    try:
        day = dt.date.fromisoformat(promised_date)
    except ValueError:
        errors["promised_date"] = N_("Enter a date.")
    if errors or day is None:
        return _loan_page(
            request, session, user, loan_id, promise=form, errors=errors, status_code=422
        )
    refused = attempt(
        session,
        lambda: promises.make_promise(
            session,
            loan_id,
            PromiseIn(amount=fen, promised_date=day),
            idempotency_key=f"web:{form['key'][:64]}",
            actor=user.actor,
        ),
    )
    if isinstance(refused, DomainError):
        errors = field_errors(refused, {"amount": "amount", "promised_date": "promised_date"})
        return _loan_page(
            request, session, user, loan_id, promise=form, errors=errors, status_code=refused.status
        )
    return redirect(f"/staff/collections/{loan_id}", flash=N_("Promise to pay recorded."))


@router.post("/staff/collections/{loan_id}/assign", openapi_extra=page(MANAGE))
def assign(
    request: Request,
    loan_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    collector: Text = "",
) -> Response:
    try:
        collector_id = uuid.UUID(collector.strip())
    except ValueError:
        errors = {"collector": N_("Choose a collector.")}
        return _loan_page(request, session, user, loan_id, errors=errors, status_code=422)
    assigned = attempt(session, lambda: work.assign(session, loan_id, collector_id, user.actor))
    if isinstance(assigned, DomainError):
        errors = field_errors(assigned, {"collector": "collector"})
        return _loan_page(
            request, session, user, loan_id, errors=errors, status_code=assigned.status
        )
    _, changed = assigned
    done = N_("The loan is assigned.") if changed else N_("That collector already has the loan.")
    return redirect(f"/staff/collections/{loan_id}", flash=done)


@router.post(
    "/staff/collections/{loan_id}/promises/{promise_id}/cancel", openapi_extra=page(MANAGE)
)
def cancel_promise(
    request: Request,
    loan_id: uuid.UUID,
    promise_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
) -> Response:
    refused = attempt(
        session, lambda: promises.cancel_promise(session, loan_id, promise_id, user.actor)
    )
    if isinstance(refused, DomainError):
        errors = {"": shown(refused.detail)}
        return _loan_page(
            request, session, user, loan_id, errors=errors, status_code=refused.status
        )
    return redirect(f"/staff/collections/{loan_id}", flash=N_("The promise is cancelled."))
