"""The permission check every route goes through.

Installed once as an application-wide dependency: it reads the permission the matched route
declares (``x-permission`` in its OpenAPI extra), authenticates the bearer token unless the
route is public, and refuses with 401 / 403 before the endpoint runs. A route that declares
no permission is refused for everyone (and a test fails on it), so forgetting the
declaration can never open a route.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity import catalog, live_sessions
from lendbridge.identity.models import SignInSession, User, UserStatus
from lendbridge.identity.signin import Policy
from lendbridge.identity.tokens import PermissionDenied, Unauthenticated
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.http import get_session
from lendbridge.kit.notify import SmsSender

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "Access token from /v1/auth/sign-in, /v1/auth/staff/sign-in or refresh.",
}

_DEVICE_HEADER = "x-device-id"


def declared_permission(route: Any) -> str | None:
    extra = getattr(route, "openapi_extra", None) or {}
    value = extra.get("x-permission")
    return value if isinstance(value, str) else None


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def origin_of(request: Request) -> Actor:
    """The anonymous actor of a request: where it came from, before any sign-in."""
    device = request.headers.get(_DEVICE_HEADER)
    return Actor(
        user_id=None,
        client_address=client_address(request),
        request_id=_request_id(),
        device_id=device[:128] if device else None,
    )


def _request_id() -> str | None:
    # Bound by RequestContextMiddleware for the logs; the same id goes into audit records.
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def policy(request: Request) -> Policy:
    value: Policy = request.app.state.identity_policy
    return value


def sms(request: Request) -> SmsSender:
    value: SmsSender = request.app.state.sms
    return value


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def document_security(openapi: dict[str, Any]) -> dict[str, Any]:
    """Mark every non-public operation as needing the bearer token in the OpenAPI document
    (the check itself is :func:`authorize`; public operations need no header)."""
    openapi.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER_SCHEME
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            if operation.get("x-permission") not in (None, catalog.PUBLIC):
                operation["security"] = [{"bearer": []}]
    return openapi


async def authorize(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
) -> Actor:
    # Async: the token check is a little CPU, done on the event loop; only a session this
    # process has not seen live lately is read from the database, on a worker thread.
    permission = declared_permission(request.scope.get("route"))
    if permission is None:
        raise PermissionDenied("this route declares no permission, so nobody may call it")
    origin = origin_of(request)
    if permission == catalog.PUBLIC:
        request.state.actor = origin
        return origin
    token = _bearer_token(request)
    if token is None:
        raise Unauthenticated("send an access token: Authorization: Bearer <token>")
    now = clock.now()
    claims = policy(request).signer.verify(token, now=now)
    if not live_sessions.is_known_live(claims.session_id):
        if not await run_in_threadpool(_is_live, session, claims.session_id, claims.user_id):
            raise Unauthenticated("the session has ended; sign in again")
        live_sessions.remember_live(claims.session_id)
    actor = Actor(
        user_id=str(claims.user_id),
        roles=claims.roles,
        permissions=claims.permissions,
        client_address=origin.client_address,
        request_id=origin.request_id,
        device_id=origin.device_id,
        session_id=str(claims.session_id),
    )
    if permission != catalog.SELF and not actor.may(permission):
        raise PermissionDenied(f"this action needs the permission {permission!r}")
    request.state.actor = actor
    return actor


def _is_live(session: Session, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    live = session.execute(
        select(User.status, SignInSession.revoked_at)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(SignInSession.id == session_id, User.id == user_id)
    ).first()
    # End the read at once: on SQLite every transaction holds the write lock, and an endpoint
    # that runs its own transactions (the manual queue's) would wait for this one.
    session.rollback()
    return live is not None and live.revoked_at is None and live.status == UserStatus.ACTIVE


ActorDep = Annotated[Actor, Depends(authorize)]


def expires_in(value: dt.datetime) -> int:
    return max(0, int((value - clock.now()).total_seconds()))
