"""CSRF protection for every form: the signed double-submit cookie pattern (OWASP).

A random value lives in an HttpOnly cookie; each form carries an HMAC of that value and of
the session cookie, so a token from another browser, or from before signing in, does not
pass. A POST whose token is missing or wrong is refused (403) before the page runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from lendbridge.identity.signin import Policy
from lendbridge.web import sessions

COOKIE = "lb_csrf"
FIELD = "csrf_token"


def _policy(request: Request) -> Policy:
    policy: Policy = request.app.state.identity_policy
    return policy


def cookie_value(request: Request) -> str:
    """This browser's CSRF secret; a new one (set on the response by ``render``) if none."""
    existing = request.cookies.get(COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    fresh: str | None = getattr(request.state, "new_csrf_cookie", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = fresh
    return fresh


def token(request: Request) -> str:
    key = _policy(request).signer.derived_key("web-csrf")
    bound_to = request.cookies.get(sessions.COOKIE, "")
    message = f"{cookie_value(request)}|{bound_to}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def valid(request: Request, presented: str) -> bool:
    if not request.cookies.get(COOKIE) or not presented:
        return False
    return hmac.compare_digest(token(request), presented)


def set_cookie_if_new(request: Request, response: Response) -> None:
    fresh = getattr(request.state, "new_csrf_cookie", None)
    if fresh is not None:
        response.set_cookie(
            COOKIE,
            fresh,
            path="/",
            httponly=True,
            samesite="lax",
            secure=sessions.is_secure(request),
        )
