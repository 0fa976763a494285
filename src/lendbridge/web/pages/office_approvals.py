"""``/staff/approvals``: the maker-checker inbox. Checkers (``approvals.decide``) see every
pending request and approve or reject it (never their own: the service refuses); other staff
see the requests they made."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from lendbridge.approvals import service
from lendbridge.approvals.models import ApprovalRequest, ApprovalStatus
from lendbridge.kit.errors import DomainError
from lendbridge.web import nav
from lendbridge.web.i18n import N_
from lendbridge.web.pages.office_common import SessionDep, shown, usernames
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
MONEY_KEYS = frozenset({"amount", "min_amount", "max_amount", "fixed", "principal"})


def summary_lines(payload: dict[str, Any], prefix: str = "") -> list[tuple[str, str, bool]]:
    """A payload as (field, value, is money in fen) lines, nested fields dotted."""
    lines: list[tuple[str, str, bool]] = []
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines.extend(summary_lines(value, name + "."))
        elif isinstance(value, list):
            lines.append((name, ", ".join(str(v) for v in value), False))
        else:
            money = key in MONEY_KEYS and isinstance(value, int) and not isinstance(value, bool)
            lines.append((name, str(value), money))
    return lines


def _inbox(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    pending = service.listing(
        session, user.actor, status=ApprovalStatus.PENDING, mine=False, limit=100
    )
    recent = [
        row
        for row in service.listing(session, user.actor, status=None, mine=False, limit=30)
        if row.status != ApprovalStatus.PENDING
    ]
    names = usernames(session, [r.maker_id for r in pending + recent])
    names.update(usernames(session, [r.checker_id for r in recent]))
    return render(
        request,
        "office/approvals.html",
        status_code=status_code,
        pending=[(row, summary_lines(row.payload)) for row in pending],
        recent=recent,
        names=names,
        may_decide=user.may(service.DECIDE),
        errors=errors or {},
        failed=failed,
    )


@router.get("/staff/approvals", openapi_extra=page(nav.STAFF))
def inbox(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    return _inbox(request, session, user)


def _decide(
    request: Request,
    user: WebUser,
    session: Session,
    request_id: uuid.UUID,
    note: str,
    *,
    approve: bool,
) -> Response:
    note = note.strip()
    if not note:
        errors = {"note": N_("Write a note for the record.")}
        return _inbox(
            request, session, user, errors=errors, failed=str(request_id), status_code=422
        )
    try:
        row: ApprovalRequest = service.decide(
            session, user.actor, request_id, approve=approve, note=note[:1000]
        )
    except DomainError as exc:
        session.rollback()
        return _inbox(
            request,
            session,
            user,
            errors={"": shown(exc.detail)},
            failed=str(request_id),
            status_code=exc.status,
        )
    session.commit()
    done = N_("Approved: the action has run.") if approve else N_("Rejected.")
    return redirect(f"/staff/approvals#r-{row.id}", flash=done)


NoteForm = Annotated[str, Form()]


@router.post("/staff/approvals/{request_id}/approve", openapi_extra=page(service.DECIDE))
def approve(
    request: Request,
    request_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    note: NoteForm = "",
) -> Response:
    return _decide(request, user, session, request_id, note, approve=True)


@router.post("/staff/approvals/{request_id}/reject", openapi_extra=page(service.DECIDE))
def reject(
    request: Request,
    request_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    note: NoteForm = "",
) -> Response:
    return _decide(request, user, session, request_id, note, approve=False)
