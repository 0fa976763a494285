"""The audit trail for auditors: filtered by action, actor and target, newest first, a page
at a time; and the chain's verification on demand. The same service as ``/v1/audit``."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from lendbridge.audit import service
from lendbridge.audit.models import ACTION_LEN, ACTOR_ID_LEN, TARGET_ID_LEN, TARGET_TYPE_LEN
from lendbridge.audit.schemas import RecordPage, VerifyReport
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session
from lendbridge.web import forms
from lendbridge.web.i18n import N_
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
READ = "audit.read"
PAGE_SIZE = 50
VERIFY_LIMIT = 100_000
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
FILTERS = {  # field → (longest, pattern)
    "action": (ACTION_LEN, _NAME),
    "actor": (ACTOR_ID_LEN, _PRINTABLE),
    "target_type": (TARGET_TYPE_LEN, _NAME),
    "target_id": (TARGET_ID_LEN, _PRINTABLE),
}
Filter = Annotated[str, Query(max_length=200)]


def _records(
    request: Request,
    session: Session,
    form: dict[str, str],
    cursor: str | None,
    report: VerifyReport | None = None,
) -> HTMLResponse:
    errors: dict[str, str] = {}
    for name, (longest, pattern) in FILTERS.items():
        value = form.get(name, "")
        if value and (len(value) > longest or not pattern.match(value)):
            errors[name] = N_("This value is not allowed here.")
    page_: RecordPage | None = None
    if not errors:
        try:
            page_ = service.list_records(
                session,
                actor_id=form.get("actor") or None,
                target_type=form.get("target_type") or None,
                target_id=form.get("target_id") or None,
                action=form.get("action") or None,
                cursor=cursor,
                limit=PAGE_SIZE,
                descending=True,
            )
        except DomainError as exc:
            errors = forms.errors_of(exc)
    session.rollback()
    next_query = None
    if page_ is not None and page_.next_cursor:
        kept = {k: v for k, v in form.items() if v}
        next_query = {**kept, "cursor": page_.next_cursor}
    return render(
        request,
        "staff/audit.html",
        status_code=422 if errors else 200,
        form=form,
        errors=errors,
        records=page_.items if page_ is not None else [],
        next_query=next_query,
        report=report,
    )


@router.get("/staff/audit", openapi_extra=page(READ))
def audit_trail(
    request: Request,
    user: UserDep,
    session: SessionDep,
    action: Filter = "",
    actor: Filter = "",
    target_type: Filter = "",
    target_id: Filter = "",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    form = {
        "action": action.strip(),
        "actor": actor.strip(),
        "target_type": target_type.strip(),
        "target_id": target_id.strip(),
    }
    return _records(request, session, form, cursor or None)


@router.post("/staff/audit/verify", openapi_extra=page(READ))
def verify(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    """Recompute the chain's hashes and links (up to ``VERIFY_LIMIT`` records from the
    first), as ``GET /v1/audit/verify`` does, and show the result over the trail."""
    report = service.verify(session, from_seq=1, limit=VERIFY_LIMIT)
    return _records(request, session, {}, None, report)
