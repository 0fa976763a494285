"""Signing in and out (borrowers with phone and password, staff with password and TOTP), and
the language switch."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import registration, signin
from lendbridge.identity.auth import origin_of, policy
from lendbridge.identity.errors import AccountLocked, TooManyAttempts
from lendbridge.identity.models import User, UserKind
from lendbridge.identity.validation import normalize_mobile
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session
from lendbridge.web import forms, i18n, nav, sessions
from lendbridge.web.i18n import N_
from lendbridge.web.render import render
from lendbridge.web.routing import page, redirect, safe_next

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
NextQuery = Annotated[str | None, Query(alias="next", max_length=500)]


@router.get("/login", openapi_extra=page(nav.PUBLIC))
def login_form(request: Request, next_: NextQuery = None) -> HTMLResponse:
    return render(request, "portal/login.html", form={}, errors={}, next=safe_next(next_, "/"))


@router.post("/login", openapi_extra=page(nav.PUBLIC))
async def login(request: Request, session: SessionDep) -> Response:
    form = await forms.fields(request)
    target = safe_next(form.get("next"), "/")
    try:
        index = registration.phone_index(normalize_mobile(form.get("phone", "")))
    except DomainError:
        errors = {"phone": N_("Enter an 11-digit mainland mobile number.")}
        return render(
            request, "portal/login.html", status_code=422, form=form, errors=errors, next=target
        )
    attempt = signin.sign_in_customer(
        session,
        policy(request),
        phone_index=index,
        password=form.get("password", ""),
        origin=origin_of(request),
    )
    session.commit()  # the login history and failure counters, whatever the outcome
    if attempt.error is not None:
        return render(
            request,
            "portal/login.html",
            status_code=attempt.error.status,
            form=form,
            errors={"": refusal_text(attempt.error)},
            next=target,
        )
    tokens = attempt.result()
    response = redirect(target)
    sessions.issue(
        response,
        request,
        policy(request),
        session_id=tokens.session_id,
        user_id=tokens.user_id,
        kind=_kind_of(session, tokens.user_id),
    )
    return response


@router.get("/staff/login", openapi_extra=page(nav.PUBLIC))
def staff_login_form(request: Request, next_: NextQuery = None) -> HTMLResponse:
    return render(request, "staff/login.html", form={}, errors={}, next=safe_next(next_, "/staff"))


@router.post("/staff/login", openapi_extra=page(nav.PUBLIC))
async def staff_login(request: Request, session: SessionDep) -> Response:
    form = await forms.fields(request)
    target = safe_next(form.get("next"), "/staff")
    attempt = signin.sign_in_staff(
        session,
        policy(request),
        username=form.get("username", ""),
        password=form.get("password", ""),
        totp_code=form.get("totp_code") or None,
        origin=origin_of(request),
    )
    session.commit()
    if attempt.error is not None:
        return render(
            request,
            "staff/login.html",
            status_code=attempt.error.status,
            form=form,
            errors={"": refusal_text(attempt.error)},
            next=target,
        )
    tokens = attempt.result()
    if tokens.mfa_enrolment_required:
        # Pages are for enrolled staff; enrolment is done once through the API or the CLI.
        signin.revoke_session(session, tokens.session_id, reason="mfa_enrolment_required")
        session.commit()
        errors = {"": N_("Enrol an authenticator before signing in to the back office.")}
        return render(
            request, "staff/login.html", status_code=403, form=form, errors=errors, next=target
        )
    response = redirect(target)
    sessions.issue(
        response,
        request,
        policy(request),
        session_id=tokens.session_id,
        user_id=tokens.user_id,
        kind=UserKind.STAFF.value,
    )
    return response


@router.post("/logout", openapi_extra=page(nav.PUBLIC))
def logout(request: Request, session: SessionDep) -> Response:
    user = getattr(request.state, "web_user", None)
    target = "/login"
    if isinstance(user, sessions.WebUser):
        target = "/staff/login" if user.is_staff else "/login"
        signin.revoke_session(session, user.session_id, reason="sign_out")
        record(
            session,
            user.actor,
            action="identity.sign_out",
            target_type="session",
            target_id=str(user.session_id),
        )
        session.commit()
    response = redirect(target, flash=N_("You have signed out."))
    sessions.clear(response, request)
    return response


@router.get("/lang/{locale}", openapi_extra=page(nav.PUBLIC))
def switch_language(request: Request, locale: str, next_: NextQuery = None) -> Response:
    response = redirect(safe_next(next_, "/"))
    response.set_cookie(
        i18n.COOKIE,
        i18n.choose(locale),
        max_age=365 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=sessions.is_secure(request),
    )
    return response


def _kind_of(session: Session, user_id: uuid.UUID) -> str:
    return str(session.scalar(select(User.kind).where(User.id == user_id)))


def refusal_text(error: DomainError) -> str:
    """What a person is told when signing in fails (an English id, translated when shown);
    the same words whether the account exists or not."""
    if isinstance(error, AccountLocked):
        return N_("Too many wrong attempts: the account is locked for a while. Try again later.")
    if isinstance(error, TooManyAttempts):
        return N_("Too many attempts from here. Wait a few minutes and try again.")
    return N_("The sign-in details are not right. Check them and try again.")
