"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from lendbridge import __version__
from lendbridge.approvals.endpoints import router as approvals_router
from lendbridge.audit.endpoints import router as audit_router
from lendbridge.config import Settings, get_settings
from lendbridge.decisions import actions as decision_actions
from lendbridge.decisions.endpoints import router as policies_router
from lendbridge.identity import approval_actions as identity_actions
from lendbridge.identity import catalog
from lendbridge.identity.auth import authorize, document_security
from lendbridge.identity.endpoints import router as identity_router
from lendbridge.identity.kyc_endpoints import router as kyc_router
from lendbridge.kit import problems
from lendbridge.kit.db import make_engine, make_session_factory
from lendbridge.kit.http import (
    BodySizeLimitMiddleware,
    InFlightLimitMiddleware,
    RequestContextMiddleware,
    permission,
    screen_parameters,
)
from lendbridge.kit.logging import configure_logging
from lendbridge.kit.migrate import current_revision, head_revision
from lendbridge.kit.startup import freeze_startup_objects
from lendbridge.ledger import approval_actions as ledger_actions
from lendbridge.ledger.endpoints import router as ledger_router
from lendbridge.origination.endpoints import router as applications_router
from lendbridge.origination.recommendation_endpoints import router as recommendations_router
from lendbridge.payments import orders as payment_orders
from lendbridge.payments import submission as payment_jobs
from lendbridge.payments.endpoints import router as payments_router
from lendbridge.payments.recon import approval_actions as recon_actions
from lendbridge.payments.recon.endpoints import router as recon_router
from lendbridge.products import approval_actions as product_actions
from lendbridge.products.endpoints import router as products_router
from lendbridge.risklist.endpoints import router as risk_list_router
from lendbridge.runtime import (
    JobService,
    configure_keyring,
    configure_payments,
    identity_policy,
    identity_verifier,
    sms_sender,
)
from lendbridge.scoring import promotion as scoring_promotion
from lendbridge.scoring import registry as scoring_registry
from lendbridge.scoring.endpoints import router as models_router
from lendbridge.servicing import loan_actions
from lendbridge.servicing.collections.endpoints import router as collections_router
from lendbridge.servicing.endpoints import router as schedules_router
from lendbridge.servicing.loan_endpoints import router as loans_router
from lendbridge.servicing.workout_endpoints import router as workout_router
from lendbridge.web.app import create_web_app
from lendbridge.web.app import too_large as web_too_large

PUBLIC = permission(catalog.PUBLIC)
# The actions that need a checker, registered by their domains.
APPROVAL_ACTIONS = (
    identity_actions.GRANT_ROLE,
    ledger_actions.MANUAL_ENTRY,
    recon_actions.ADJUST,
    loan_actions.RESTRUCTURE,
    loan_actions.WRITE_OFF,
    decision_actions.ACTIVATE_POLICY,
    scoring_promotion.PROMOTE,
    product_actions.SAVE_PRODUCT,
)
# The jobs the server may run, registered by their domains.
JOBS = (payment_orders.SEND_DUE_JOB, payment_jobs.QUERY_JOB)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    factory = make_session_factory(engine)
    job_service = JobService(settings, factory, run=settings.run_jobs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # No more request threads than pooled database connections: beyond that they only
        # queue for one, or open and close an overflow connection per request (a burst of
        # channel callbacks did exactly that).
        to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        await to_thread.run_sync(scoring_registry.warm, factory)  # the champion, in memory once
        job_service.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            job_service.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="lendbridge",
        version=__version__,
        description="The API of an online lending intermediary. Amounts are integer minor "
        "units (fen) with an ISO 4217 currency; errors are RFC 9457 problem details.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        responses=problems.responses(401, 403, 422),
        # Every route: the permission it declares is checked before it runs.
        dependencies=[Depends(authorize), Depends(screen_parameters)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.jobs = job_service
    app.state.identity_policy = identity_policy(settings, engine)
    configure_keyring(settings, engine)
    app.state.sms = sms_sender(settings)
    app.state.identity_verifier = identity_verifier(settings)
    configure_payments(settings, engine)
    problems.install(app)
    app.add_middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes, page=web_too_large)
    app.add_middleware(InFlightLimitMiddleware, limit=settings.db_pool_size)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(identity_router)
    app.include_router(kyc_router)
    app.include_router(ledger_router)
    app.include_router(approvals_router)
    app.include_router(audit_router)
    app.include_router(payments_router)
    app.include_router(recon_router)
    app.include_router(schedules_router)
    app.include_router(products_router)
    app.include_router(loans_router)
    app.include_router(workout_router)
    app.include_router(collections_router)
    app.include_router(policies_router)
    app.include_router(models_router)
    app.include_router(recommendations_router)
    app.include_router(applications_router)
    app.include_router(risk_list_router)
    _document_security(app)
    # The pages answer whatever no API route matches (a method mismatch on an API path stays
    # the API's 405); they share the API's resources.
    app.router.default = create_web_app(
        {
            "settings": settings,
            "engine": engine,
            "session_factory": factory,
            "jobs": job_service,
            "identity_policy": app.state.identity_policy,
            "sms": app.state.sms,
            "identity_verifier": app.state.identity_verifier,
        }
    )

    @app.get(
        "/health",
        tags=["operations"],
        summary="Liveness: the process is serving",
        openapi_extra=PUBLIC,
    )
    async def health() -> dict[str, str]:
        # Async: it needs no worker thread, so it answers even while every thread is busy
        # (a liveness probe that timed out then would get a busy, healthy server restarted).
        return {"status": "ok", "version": __version__}

    @app.get(
        "/ready",
        tags=["operations"],
        summary="Readiness: the database answers and its schema is current",
        responses={503: {"model": problems.Problem}},
        openapi_extra=PUBLIC,
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


def _document_security(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_security(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _not_ready(request: Request, detail: str) -> JSONResponse:
    return problems.problem_response(
        request, status=503, code="not_ready", title="Not ready", detail=detail
    )
