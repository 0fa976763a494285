"""The web application, mounted under the API application at ``/`` (API routes match first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from lendbridge.kit import problems
from lendbridge.kit.errors import DomainError
from lendbridge.web import i18n
from lendbridge.web.i18n import N_
from lendbridge.web.pages import ROUTERS
from lendbridge.web.render import render
from lendbridge.web.routing import LoginRequired, authorize_page, language_and_csrf
from lendbridge.web.security import HEADERS, SecurityHeadersMiddleware

STATIC = Path(__file__).parent / "static"
log = structlog.get_logger(__name__)


def create_web_app(state: dict[str, Any]) -> FastAPI:
    """``state``: what the API application's state holds (settings, session factory, identity
    policy, …); the pages use the same services and resources."""
    web = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(authorize_page), Depends(language_and_csrf)],
    )
    for name, value in state.items():
        setattr(web.state, name, value)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        web.include_router(router)
    web.add_middleware(SecurityHeadersMiddleware)
    _install_errors(web)
    return web


def _install_errors(web: FastAPI) -> None:
    @web.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        staff = request.url.path.startswith("/staff")
        target = "/staff/login" if staff else "/login"
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{target}?next={quote(here, safe='')}", status_code=303)

    @web.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return _error_page(request, exc.status, exc.title, exc.detail)

    @web.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # Only a malformed address reaches here (pages read their forms themselves).
        return _error_page(request, 404, N_("Not found"), N_("This page does not exist."))

    @web.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/v1/"):  # an unknown API path stays an API answer
            return problems.problem_response(
                request,
                status=exc.status_code,
                code="not_found",
                title="Not found",
                detail=str(exc.detail),
            )
        title = N_("Not found") if exc.status_code == 404 else N_("Request not allowed")
        return _error_page(request, exc.status_code, title, str(exc.detail))

    @web.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("page failed", path=request.url.path)
        return _error_page(request, 500, N_("Something went wrong"), N_("Please try again later."))


def too_large(request: Request, limit: int) -> Response:
    """The page for a form or upload over the request size limit (refused before any page
    runs, by the body-size middleware): headers and language as every page's."""
    i18n.use(request.cookies.get(i18n.COOKIE) or i18n.DEFAULT_LOCALE)
    size = i18n.number(limit // 1024)
    detail = i18n.gettext_("A request may carry at most %(size)s KB.", size=size)
    response = _error_page(request, 413, N_("Too large to send"), detail)
    response.headers.update({k.decode(): v.decode() for k, v in HEADERS})
    response.headers["cache-control"] = "no-store"
    return response


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if not hasattr(request.state, "web_user"):
        request.state.web_user = None
        i18n.use(request.cookies.get(i18n.COOKIE) or i18n.DEFAULT_LOCALE)
    return render(
        request, "error.html", status_code=status, title=title, detail=detail, status=status
    )
