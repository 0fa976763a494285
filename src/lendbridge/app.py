"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from lendbridge import __version__
from lendbridge.config import Settings, get_settings
from lendbridge.kit import problems
from lendbridge.kit.db import make_engine, make_session_factory
from lendbridge.kit.http import BodySizeLimitMiddleware, RequestContextMiddleware
from lendbridge.kit.logging import configure_logging
from lendbridge.kit.migrate import current_revision, head_revision
from lendbridge.ledger.endpoints import router as ledger_router


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    app = FastAPI(
        title="lendbridge",
        version=__version__,
        description="The API of an online lending intermediary. Amounts are integer minor "
        "units (fen) with an ISO 4217 currency; errors are RFC 9457 problem details.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        responses={
            422: {"model": problems.Problem, "description": "Invalid input"},
        },
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    problems.install(app)
    app.add_middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(ledger_router)

    @app.get("/health", tags=["operations"], summary="Liveness: the process is serving")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/ready",
        tags=["operations"],
        summary="Readiness: the database answers and its schema is current",
        responses={503: {"model": problems.Problem}},
    )
    def ready(request: Request) -> Any:
        head = head_revision()
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            revision = current_revision(engine)
        except Exception as exc:  # any failure to reach the database means not ready
            return _not_ready(request, f"database unreachable: {type(exc).__name__}")
        if revision != head:
            return _not_ready(request, f"schema at {revision}, expected {head}; run migrations")
        return {"status": "ready", "schema": revision}

    return app


def _not_ready(request: Request, detail: str) -> JSONResponse:
    return problems.problem_response(
        request, status=503, code="not_ready", title="Not ready", detail=detail
    )
