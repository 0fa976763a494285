"""``/staff/payments/manual``: the payment orders waiting for a person (retry, cancel, or
resolve with what the channel says); the same service as ``/v1/payments/orders/{id}/manual``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from lendbridge.kit.errors import DomainError
from lendbridge.payments import manual, orders
from lendbridge.payments.schemas import ManualIn
from lendbridge.web.i18n import N_
from lendbridge.web.pages.office_common import SessionDep, shown
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
READ = "payments.read"
MANUAL = "payments.manual"
Text = Annotated[str, Form()]


def _queue_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    waiting = orders.list_orders(session, manual=True, limit=200)
    return render(
        request,
        "office/payments_manual.html",
        status_code=status_code,
        orders=waiting.items,
        may_act=user.may(MANUAL),
        errors=errors or {},
        failed=failed,
    )


@router.get("/staff/payments/manual", openapi_extra=page(READ))
def manual_queue(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    return _queue_page(request, session, user)


@router.post("/staff/payments/manual/{order_id}", openapi_extra=page(MANUAL))
def act_on_order(
    request: Request,
    order_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    action: Text = "",
    note: Text = "",
    outcome: Text = "",
) -> Response:
    session.rollback()  # the service works in its own transactions
    try:
        body = ManualIn.model_validate({"action": action, "note": note, "outcome": outcome or None})
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else ""
            if where == "note":
                found["note"] = N_("Write a note for the record.")
            elif "outcome" in str(error["msg"]) or where == "outcome":
                found["outcome"] = N_("Resolving needs what the channel says: succeeded or failed.")
            else:
                found[""] = N_("Choose retry, cancel or resolve.")
        return _queue_page(
            request, session, user, errors=found, failed=str(order_id), status_code=422
        )
    try:
        manual.act(request.app.state.session_factory, order_id, body, user.actor)
    except DomainError as exc:
        return _queue_page(
            request,
            session,
            user,
            errors={"": shown(exc.detail)},
            failed=str(order_id),
            status_code=exc.status,
        )
    return redirect("/staff/payments/manual", flash=N_("Done: the order was updated."))
