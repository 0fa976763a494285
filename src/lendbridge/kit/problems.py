"""RFC 9457 problem details: the one shape every error response has.

``type`` is a stable URI per error code, ``errors`` lists each invalid field by its dotted
path in the request, and ``request_id`` ties the response to the log lines.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lendbridge.kit.errors import DomainError
from lendbridge.kit.logging import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://lendbridge.dev/problems/"
log = get_logger("lendbridge.http")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. postings.1.amount")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    request_id: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "errors": errors or [],
    }
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc_to_field(loc: tuple[int | str, ...] | list[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        origin, rest = parts[0], parts[1:]
        return ".".join(rest) if rest else origin
    return ".".join(parts)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's own 405 names only the first
    route that matched the path, so a path with a GET route and a POST route reports one."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        log.info("request refused", code=exc.code, status=exc.status)
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=[{"field": e.field, "message": e.message} for e in exc.errors],
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            message = str(err.get("msg", "invalid"))
            if err.get("type") == "json_invalid":
                errors.append({"field": "body", "message": "malformed JSON: " + message})
                continue
            errors.append({"field": _loc_to_field(err.get("loc", ())), "message": message})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            request,
            status=422,
            code="validation_failed",
            title="The request is not valid",
            detail=detail or "the request is not valid",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return problem_response(
            request,
            status=exc.status_code,
            code=code,
            title=str(exc.detail),
            detail=str(exc.detail),
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        # This handler runs outside every middleware (Starlette's ServerErrorMiddleware), so
        # the request-id middleware cannot add its header here: add it, it is what to quote.
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        return problem_response(
            request,
            status=500,
            code="internal_error",
            title="Internal error",
            detail="an unexpected error occurred; quote the request id when reporting it",
            headers={"X-Request-ID": request_id} if request_id else None,
        )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for problem-details answers (RFC 9457 media type) with these
    statuses, for a router's or the application's ``responses``."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Problem"}
        for status in statuses
    }
