"""``/staff/close``: the close-of-business runs, newest first, one row each with its step
totals summed in SQL; ``/staff/close/{date}`` shows one day's steps. No API route reads the
runs (the ``lendbridge cob status`` command does), so the pages ask for ``ledger.read``: the
close posts the day's accruals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lendbridge.servicing.cob.models import CobRun, CobStatus, CobStepRun
from lendbridge.servicing.cob.runner import registered_steps
from lendbridge.web.pages.office_common import SessionDep
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
READ = "ledger.read"


@dataclass(frozen=True)
class RunRow:
    run: CobRun
    steps: int
    failed_steps: int
    items: int
    duration_ms: int


def run_rows(session: Session, limit: int, before: dt.date | None = None) -> list[RunRow]:
    """The newest ``limit`` runs (older than ``before`` when given), each with its steps'
    count, failures, items and time, aggregated by the database."""
    totals = (
        select(
            CobStepRun.business_date,
            func.count().label("steps"),
            func.sum(case((CobStepRun.status == CobStatus.FAILED, 1), else_=0)).label("failed"),
            func.coalesce(func.sum(CobStepRun.items), 0).label("item_count"),
            func.coalesce(func.sum(CobStepRun.duration_ms), 0).label("duration_ms"),
        )
        .group_by(CobStepRun.business_date)
        .subquery()
    )
    query = (
        select(CobRun, totals.c.steps, totals.c.failed, totals.c.item_count, totals.c.duration_ms)
        .outerjoin(totals, totals.c.business_date == CobRun.business_date)
        .order_by(CobRun.business_date.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(CobRun.business_date < before)
    return [
        RunRow(run, int(steps or 0), int(failed or 0), int(items or 0), int(ms or 0))
        for run, steps, failed, items, ms in session.execute(query)
    ]


@router.get("/staff/close", openapi_extra=page(READ))
def close_runs(
    request: Request,
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
    before: Annotated[dt.date | None, Query()] = None,
) -> HTMLResponse:
    rows = run_rows(session, limit + 1, before)  # one more tells whether older runs exist
    shown = rows[:limit]
    older = shown[-1].run.business_date if len(rows) > limit else None
    return render(request, "office/close.html", rows=shown, older=older, limit=limit)


@router.get("/staff/close/{business_date}", openapi_extra=page(READ))
def close_day(
    request: Request, business_date: dt.date, user: UserDep, session: SessionDep
) -> HTMLResponse:
    run = session.get(CobRun, business_date)
    if run is None:
        raise HTTPException(status_code=404)
    found = session.scalars(
        select(CobStepRun)
        .where(CobStepRun.business_date == business_date)
        .order_by(CobStepRun.position, CobStepRun.step)
    )
    descriptions = {s.name: s.description for s in registered_steps()}
    return render(
        request, "office/close_day.html", run=run, steps=list(found), descriptions=descriptions
    )
