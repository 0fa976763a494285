"""Who is signed in to the pages: a signed, HttpOnly session cookie naming a sign-in session.

The cookie holds no personal data and no permissions: only the sign-in session's id, the
user's id and kind, signed (itsdangerous) with a key derived from the token secret. Each
request checks that the sign-in session is still live (signing out, or an administrator
revoking it, ends it at once) and reads the user's current roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity.models import SignInSession, User, UserKind, UserStatus
from lendbridge.identity.signin import Policy
from lendbridge.identity.users import roles_and_permissions
from lendbridge.kit.actor import Actor

COOKIE = "lb_session"
# A desk session lasts a working day; a borrower's phone stays signed in for a week.
MAX_AGE_STAFF = 12 * 3600
MAX_AGE_CUSTOMER = 7 * 24 * 3600


@dataclass(frozen=True)
class WebUser:
    """The signed-in person of a page request."""

    actor: Actor
    kind: str  # borrower, investor, staff (identity.models.UserKind values)
    session_id: uuid.UUID
    user_id: uuid.UUID

    @property
    def is_staff(self) -> bool:
        return self.kind == UserKind.STAFF.value

    def may(self, permission: str) -> bool:
        return self.actor.may(permission)


def serializer(policy: Policy) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(policy.signer.derived_key("web-session"), salt="session")


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def issue(
    response: Response,
    request: Request,
    policy: Policy,
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    kind: str,
) -> None:
    value = serializer(policy).dumps([str(session_id), str(user_id), kind])
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_STAFF if kind == UserKind.STAFF.value else MAX_AGE_CUSTOMER,
        path="/",
        httponly=True,
        secure=is_secure(request),
        samesite="lax",
    )


def clear(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=is_secure(request), samesite="lax"
    )


def read(request: Request, session: Session, policy: Policy, origin: Actor) -> WebUser | None:
    """The live signed-in user of this request, or None (no cookie, forged, expired, revoked)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        signer = serializer(policy)
        session_text, user_text, kind = signer.loads(raw, max_age=MAX_AGE_CUSTOMER)
        if kind == UserKind.STAFF.value:
            signer.loads(raw, max_age=MAX_AGE_STAFF)
        session_id, user_id = uuid.UUID(session_text), uuid.UUID(user_text)
    except (BadSignature, ValueError, TypeError):
        return None
    live = session.execute(
        select(User.status, User.kind, SignInSession.revoked_at, SignInSession.created_at)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(SignInSession.id == session_id, User.id == user_id)
    ).first()
    if live is None or live.revoked_at is not None or live.status != UserStatus.ACTIVE:
        return None
    if live.kind != kind:
        return None
    roles, permissions = roles_and_permissions(session, user_id)
    actor = Actor(
        user_id=str(user_id),
        roles=roles,
        permissions=permissions,
        client_address=origin.client_address,
        request_id=origin.request_id,
        device_id=origin.device_id,
        session_id=str(session_id),
    )
    return WebUser(actor=actor, kind=kind, session_id=session_id, user_id=user_id)
