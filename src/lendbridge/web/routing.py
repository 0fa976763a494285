"""What every page route shares: its declared permission, the signed-in user, redirects."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from lendbridge.identity.auth import declared_permission, origin_of
from lendbridge.identity.signin import Policy
from lendbridge.identity.tokens import PermissionDenied
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session
from lendbridge.web import csrf, i18n, nav, sessions
from lendbridge.web.render import FLASH_COOKIE
from lendbridge.web.sessions import WebUser


class LoginRequired(DomainError):
    """Not signed in (or the session ended): the page answers with the sign-in page."""

    status = 401
    code = "web.login_required"


class CsrfRejected(DomainError):
    status = 403
    code = "web.csrf"


def page(permission: str) -> dict[str, Any]:
    """A page's declared permission (a route class of ``nav`` or a real permission)."""
    return {"x-permission": permission}


def authorize_page(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> WebUser | None:
    """The page's permission check, before it runs."""
    permission = declared_permission(request.scope.get("route"))
    if permission is None:
        raise PermissionDenied("this page declares no permission, so nobody may open it")
    policy: Policy = request.app.state.identity_policy
    origin = origin_of(request)
    user = sessions.read(request, session, policy, origin)
    request.state.web_user = user
    request.state.actor = user.actor if user else origin
    session.rollback()  # the page opens its own transaction
    if permission == nav.PUBLIC:
        return user
    if user is None:
        raise LoginRequired("sign in to open this page")
    if not nav.allowed(user, permission):
        raise PermissionDenied(f"this page needs the permission {permission!r}")
    return user


async def language_and_csrf(request: Request) -> None:
    """Picks the page's language and checks that every state-changing request carries the
    form's CSRF token. Async on purpose: the language is a context variable, and only one set
    in the request's own task reaches the page (sync dependencies run in copies of it)."""
    i18n.use(request.cookies.get(i18n.COOKIE) or i18n.DEFAULT_LOCALE)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    presented = form.get(csrf.FIELD)
    if not isinstance(presented, str) or not csrf.valid(request, presented):
        raise CsrfRejected("the form has expired or did not come from this site; reload it")


def signed_in(request: Request) -> WebUser:
    user = getattr(request.state, "web_user", None)
    if not isinstance(user, WebUser):
        raise LoginRequired("sign in to open this page")
    return user


UserDep = Annotated[WebUser, Depends(signed_in)]


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after signing in; anything else (another site) is ignored."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """After a form: see the result on a fresh GET (303), with an optional one-time notice
    (an English message id, never personal data)."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, flash, path="/", httponly=True, samesite="lax")
    return response
