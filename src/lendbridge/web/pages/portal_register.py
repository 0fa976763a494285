"""Creating a borrower account: the phone receives a one-time code, then code and password
create the account and sign it in (the same services as ``/v1/auth/register``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lendbridge.identity import codes, registration
from lendbridge.identity.auth import origin_of, policy, sms
from lendbridge.identity.models import UserKind
from lendbridge.identity.validation import normalize_mobile
from lendbridge.kit.errors import DomainError
from lendbridge.web import forms, nav, sessions
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import SessionDep
from lendbridge.web.render import render
from lendbridge.web.routing import page, redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
PHONE_ERROR = N_("Enter an 11-digit mainland mobile number.")
CODE_ERROR = N_("The code is wrong, expired or already used.")


def _page(
    request: Request, step: str, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return render(
        request, "portal/register.html", status_code=status, step=step, form=form, errors=errors
    )


@router.get("/register", openapi_extra=page(nav.PUBLIC))
def register_form(request: Request) -> HTMLResponse:
    return _page(request, "phone", {}, {})


@router.post("/register/code", openapi_extra=page(nav.PUBLIC))
def send_code(request: Request, session: SessionDep, phone: Text = "") -> Response:
    form = {"phone": phone.strip()}
    try:
        number = normalize_mobile(form["phone"])
    except DomainError:
        return _page(request, "phone", form, {"phone": PHONE_ERROR}, 422)
    try:
        message = registration.request_code(
            session, policy(request).limiter, phone=number, origin=origin_of(request)
        )
    except DomainError as exc:
        session.rollback()
        return _page(request, "phone", form, forms.errors_of(exc), exc.status)
    session.commit()
    sms(request).send(message)  # after the commit: never a code that was not stored
    # The phone travels in the form's body (never in an address).
    return _page(request, "code", {"phone": number}, {})


@router.post("/register", openapi_extra=page(nav.PUBLIC))
def register(
    request: Request,
    session: SessionDep,
    phone: Text = "",
    code: Text = "",
    password: Text = "",
) -> Response:
    form = {"phone": phone.strip(), "code": code.strip()}
    errors: dict[str, str] = {}
    try:
        number = normalize_mobile(form["phone"])
    except DomainError:
        return _page(request, "phone", form, {"phone": PHONE_ERROR}, 422)
    if not form["code"]:
        errors["code"] = N_("Enter the code from the text message.")
    if not password:
        errors["password"] = N_("Choose a password.")
    if errors:
        return _page(request, "code", form, errors, 422)
    try:
        tokens = registration.register(
            session,
            policy(request),
            phone=number,
            code=form["code"],
            password=password,
            kind=UserKind.BORROWER,
            origin=origin_of(request),
        )
    except codes.CodeRejected:
        session.commit()  # the wrong try counts
        return _page(request, "code", form, {"code": CODE_ERROR}, 422)
    except DomainError as exc:
        session.rollback()
        return _page(request, "code", form, forms.errors_of(exc), exc.status)
    session.commit()
    response = redirect("/", flash=N_("Your account is ready."))
    sessions.issue(
        response,
        request,
        policy(request),
        session_id=tokens.session_id,
        user_id=tokens.user_id,
        kind=UserKind.BORROWER.value,
    )
    return response
