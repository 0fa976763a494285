"""Reconciliation routes under /v1/payments/recon: import a statement (the CSV as the raw
request body), read runs and breaks, resolve a break (link or explain; an adjusting entry
goes through ``POST /v1/approvals`` with action ``payments.recon.adjust``), the daily report.
"""

from __future__ import annotations

import tempfile
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lendbridge.kit import calendar, problems
from lendbridge.kit.errors import DomainError, FieldError
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, permission
from lendbridge.kit.schemas import IsoDate
from lendbridge.payments import channel_config
from lendbridge.payments.recon import approval_actions, breaks, importer, report, views
from lendbridge.payments.recon.config import MAX_AMOUNT_TOLERANCE, MAX_DATE_TOLERANCE
from lendbridge.payments.recon.models import BreakKind, BreakStatus
from lendbridge.payments.recon.schemas import (
    BreakOut,
    BreakPage,
    ReportOut,
    ResolveIn,
    RunOut,
    RunPage,
)

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/payments/recon",
    tags=["reconciliation"],
    responses=problems.responses(400, 404, 409, 413, 415, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
ChannelPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
BreakId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]
StatusFilter = Annotated[BreakStatus | None, Query(alias="status")]
KindFilter = Annotated[BreakKind | None, Query()]

READ = permission("payments.read")
RECON = permission("payments.recon")
SPOOL_IN_MEMORY = 8 << 20
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The statement file, as the channel delivered it.",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}
# Keeps the action registered wherever the routes are served.
ADJUST_ACTION = approval_actions.ADJUST


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    title = "The request body must be a CSV file"


@router.post(
    "/{channel}/statements",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={**RECON, **CSV_BODY},
    responses={200: {"model": RunOut, "description": "The same file again: its first run."}},
)
async def import_statement(
    channel: ChannelPath,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    response: Response,
    date: Annotated[
        IsoDate | None,
        Query(description="The statement's trade date; needed for an empty statement."),
    ] = None,
    date_tolerance_days: Annotated[
        int | None,
        Query(ge=0, le=MAX_DATE_TOLERANCE, description="Default: the channel's setting."),
    ] = None,
    amount_tolerance: Annotated[
        int | None,
        Query(ge=0, le=MAX_AMOUNT_TOLERANCE, description="Minor units; default: the channel's."),
    ] = None,
    file_name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> RunOut:
    """Import a statement (``Content-Type: text/csv``) and reconcile it against the channel's
    orders: 201 with the run, or 200 with the first run when the same file (same SHA-256)
    was imported before. Breaks do not make the import fail; they are the run's work queue."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/csv":
        raise UnsupportedMediaType(
            f"Content-Type: must be text/csv, not {media or 'missing'}",
            [FieldError("Content-Type", "must be text/csv")],
        )
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        async for chunk in request.stream():
            spool.write(chunk)  # at most the body limit (LENDBRIDGE_MAX_BODY_BYTES)

        def work() -> tuple[RunOut, bool]:
            # The request's own session (the permission check's): on SQLite a second one
            # would wait for the write lock this one holds.
            result = importer.import_statement(
                session,
                channel,
                spool,  # type: ignore[arg-type]
                actor=actor,
                file_name=file_name,
                statement_date=date,
                date_tolerance_days=date_tolerance_days,
                amount_tolerance=amount_tolerance,
            )
            session.commit()
            return result

        out, created = await run_in_threadpool(work)
    finally:
        spool.close()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/runs/{run_id}", openapi_extra=READ)
def get_run(run_id: uuid.UUID, session: SessionDep) -> RunOut:
    return views.run_out(views.get_run(session, run_id))


@router.get("/runs/{run_id}/breaks", openapi_extra=READ)
def run_breaks(
    run_id: uuid.UUID,
    session: SessionDep,
    status_filter: StatusFilter = None,
    kind: KindFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BreakPage:
    """A run's breaks in the order they were found, filtered by status and kind."""
    views.get_run(session, run_id)
    return views.list_breaks(
        session, run_id=run_id, status=status_filter, kind=kind, limit=limit, cursor=cursor
    )


@router.get("/breaks/{break_id}", openapi_extra=READ)
def get_break(break_id: BreakId, session: SessionDep) -> BreakOut:
    return views.break_out(views.get_break(session, break_id))


@router.post("/breaks/{break_id}/resolve", openapi_extra=RECON)
def resolve_break(
    break_id: BreakId, body: ResolveIn, actor: ActorDep, session: SessionDep
) -> BreakOut:
    """Resolve an open break: ``link`` a line missing on the platform to its order, or
    ``explain`` it in writing (audited). For an adjusting ledger entry, request the approval
    action ``payments.recon.adjust`` with payload ``{"break_id": ...}``."""
    out = breaks.resolve(session, break_id, body, actor)
    session.commit()
    return out


@router.get("/{channel}/runs", openapi_extra=READ)
def list_runs(
    channel: ChannelPath, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> RunPage:
    """The channel's runs, newest first."""
    channel_config.get(session, channel)
    return views.list_runs(session, channel, limit=limit, cursor=cursor)


@router.get("/{channel}/breaks", openapi_extra=READ)
def channel_breaks(
    channel: ChannelPath,
    session: SessionDep,
    status_filter: StatusFilter = BreakStatus.OPEN,
    kind: KindFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BreakPage:
    """The channel's work queue: its breaks of every run (default: the open ones)."""
    channel_config.get(session, channel)
    return views.list_breaks(
        session, channel=channel, status=status_filter, kind=kind, limit=limit, cursor=cursor
    )


@router.get("/{channel}/report", openapi_extra=READ)
def daily_report(
    channel: ChannelPath,
    session: SessionDep,
    date: Annotated[IsoDate | None, Query(description="Default: today's business date.")] = None,
) -> ReportOut:
    """The channel's reconciliation of a date: figures of the runs covering it, and the
    breaks open on it with their ageing (0-1, 2-3, 4-7, 8-30, >30 business days)."""
    return report.daily_report(session, channel, date or calendar.business_date(session))
