"""Sign-in, token refresh, sign-out, authenticator enrolment and the caller's own profile,
under /v1/auth and /v1/me."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import catalog, codes, mfa, registration, signin
from lendbridge.identity.auth import ActorDep, expires_in, origin_of, policy, sms
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.models import LoginEvent, User, UserKind
from lendbridge.identity.schemas import (
    CodeRequest,
    CodeSent,
    CustomerSignIn,
    MeOut,
    MfaConfirmIn,
    MfaEnrolmentOut,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    SignInEventOut,
    StaffSignIn,
    TokensOut,
)
from lendbridge.identity.validation import normalize_mobile
from lendbridge.kit import problems
from lendbridge.kit.http import ThreadedRoute, commit_refusals, get_session, permission

router = APIRouter(
    route_class=ThreadedRoute,
    tags=["identity"],
    responses=problems.responses(400, 404, 409, 413, 422, 423, 429, 503),
)

SessionDep = Annotated[Session, Depends(get_session)]


PUBLIC = permission(catalog.PUBLIC)
SELF = permission(catalog.SELF)


def _tokens_out(tokens: signin.Tokens) -> TokensOut:
    return TokensOut(
        access_token=tokens.access_token,
        expires_in=expires_in(tokens.access_expires_at),
        refresh_token=tokens.refresh_token,
        refresh_expires_at=tokens.refresh_expires_at,
        session_id=tokens.session_id,
        user_id=tokens.user_id,
        roles=list(tokens.roles),
        mfa_enrolment_required=tokens.mfa_enrolment_required,
    )


def _finish(session: Session, attempt: signin.Attempt) -> TokensOut:
    # The login history and failure counters are kept whether or not the attempt succeeded.
    session.commit()
    return _tokens_out(attempt.result())


@router.post("/v1/auth/staff/sign-in", openapi_extra=PUBLIC)
def staff_sign_in(body: StaffSignIn, request: Request, session: SessionDep) -> TokensOut:
    """Staff: username, password and the authenticator's code (mandatory once enrolled)."""
    attempt = signin.sign_in_staff(
        session,
        policy(request),
        username=body.username,
        password=body.password,
        totp_code=body.totp_code,
        origin=origin_of(request),
    )
    return _finish(session, attempt)


@router.post("/v1/auth/register/code", status_code=status.HTTP_202_ACCEPTED, openapi_extra=PUBLIC)
def request_registration_code(body: CodeRequest, request: Request, session: SessionDep) -> CodeSent:
    """Send a registration code to the phone (the answer is the same for registered numbers:
    they are told by SMS to sign in instead)."""
    message = registration.request_code(
        session, policy(request).limiter, phone=body.phone, origin=origin_of(request)
    )
    session.commit()
    sms(request).send(message)  # after the commit: never a code that was not stored
    return CodeSent(expires_in=int(codes.TTL.total_seconds()))


@router.post("/v1/auth/register", status_code=status.HTTP_201_CREATED, openapi_extra=PUBLIC)
def register(body: RegisterIn, request: Request, session: SessionDep) -> TokensOut:
    """Create a borrower or investor account with the SMS code, and sign it in."""
    with commit_refusals(session, codes.CodeRejected):  # the wrong try counts
        tokens = registration.register(
            session,
            policy(request),
            phone=body.phone,
            code=body.code,
            password=body.password,
            kind=UserKind(body.kind),
            origin=origin_of(request),
        )
    session.commit()
    return _tokens_out(tokens)


@router.post("/v1/auth/sign-in", openapi_extra=PUBLIC)
def customer_sign_in(body: CustomerSignIn, request: Request, session: SessionDep) -> TokensOut:
    """Borrowers and investors: mobile number and password."""
    attempt = signin.sign_in_customer(
        session,
        policy(request),
        phone_index=registration.phone_index(normalize_mobile(body.phone)),
        password=body.password,
        origin=origin_of(request),
    )
    return _finish(session, attempt)


@router.post("/v1/auth/refresh", openapi_extra=PUBLIC)
def refresh(body: RefreshIn, request: Request, session: SessionDep) -> TokensOut:
    """Exchange a refresh token for a new pair; each refresh token works once."""
    return _finish(session, signin.refresh(session, policy(request), body.refresh_token))


@router.post("/v1/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, openapi_extra=SELF)
def sign_out(actor: ActorDep, session: SessionDep) -> None:
    """End this sign-in: its refresh tokens stop working, and so do its access tokens."""
    assert actor.session_id is not None  # set for every authenticated actor
    signin.revoke_session(session, uuid.UUID(actor.session_id), reason="sign_out")
    record(
        session,
        actor,
        action="identity.sign_out",
        target_type="session",
        target_id=actor.session_id,
    )
    session.commit()


@router.post("/v1/auth/mfa/enrol", openapi_extra=SELF)
def begin_mfa(actor: ActorDep, session: SessionDep) -> MfaEnrolmentOut:
    """Start (or restart) authenticator enrolment: scan the URI, then confirm with a code."""
    secret, uri = mfa.begin_enrolment(session, _me(session, actor.user_id))
    record(
        session,
        actor,
        action="identity.mfa_enrolment_started",
        target_type="user",
        target_id=actor.user_id,
        after={"mfa_enabled": False},
    )
    session.commit()
    return MfaEnrolmentOut(secret=secret, otpauth_uri=uri)


@router.post("/v1/auth/mfa/confirm", openapi_extra=SELF)
def confirm_mfa(body: MfaConfirmIn, actor: ActorDep, session: SessionDep) -> RecoveryCodesOut:
    """Switch the authenticator on; sign in again to receive staff permissions."""
    recovery = mfa.confirm_enrolment(session, _me(session, actor.user_id), body.code)
    record(
        session,
        actor,
        action="identity.mfa_enrol",
        target_type="user",
        target_id=actor.user_id,
        after={"mfa_enabled": True},
    )
    session.commit()
    return RecoveryCodesOut(recovery_codes=recovery)


@router.get("/v1/me", openapi_extra=SELF)
def me(actor: ActorDep, session: SessionDep) -> MeOut:
    user = _me(session, actor.user_id)
    return MeOut(
        user_id=user.id,
        kind=user.kind,
        username=user.username,
        phone=user.phone_masked,
        roles=list(actor.roles),
        permissions=sorted(actor.permissions),
        kyc_level=user.kyc_level,
        mfa_enabled=user.totp_enabled,
    )


@router.get("/v1/me/sign-ins", openapi_extra=SELF)
def my_sign_ins(
    actor: ActorDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SignInEventOut]:
    """Your recent sign-in attempts (newest first): when, from where, which device, outcome."""
    user = _me(session, actor.user_id)
    events = session.scalars(
        select(LoginEvent)
        .where(LoginEvent.user_id == user.id)
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
        .limit(limit)
    )
    return [
        SignInEventOut(
            at=e.at,
            client_address=e.client_address,
            region=e.region,
            device_id=e.device_id,
            outcome=e.outcome,
        )
        for e in events
    ]


def _me(session: Session, user_id: str | None) -> User:
    user = session.get(User, uuid.UUID(user_id)) if user_id else None
    if user is None:
        raise UserNotFound("the signed-in user no longer exists")
    return user
