"""``/staff/close``: the close-of-business runs, newest first: each business date's status,
attempts, timings and steps. No API route reads the runs (the ``lendbridge cob status``
command does), so the page asks for ``ledger.read``: the close posts the day's accruals."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.servicing.cob.models import CobRun, CobStepRun
from lendbridge.web.pages.office_common import SessionDep
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
READ = "ledger.read"


def runs_with_steps(session: Session, limit: int) -> list[tuple[CobRun, list[CobStepRun]]]:
    runs = list(session.scalars(select(CobRun).order_by(CobRun.business_date.desc()).limit(limit)))
    steps: dict[object, list[CobStepRun]] = defaultdict(list)
    if runs:
        found = session.scalars(
            select(CobStepRun)
            .where(CobStepRun.business_date.in_([r.business_date for r in runs]))
            .order_by(CobStepRun.business_date, CobStepRun.position)
        )
        for step in found:
            steps[step.business_date].append(step)
    return [(run, steps[run.business_date]) for run in runs]


@router.get("/staff/close", openapi_extra=page(READ))
def close_runs(
    request: Request,
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
) -> HTMLResponse:
    return render(request, "office/close.html", runs=runs_with_steps(session, limit))
