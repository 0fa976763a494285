"""Schedule routes under /v1/schedules: a public loan calculator over the schedule engine."""

from __future__ import annotations

from fastapi import APIRouter

from lendbridge.identity import catalog
from lendbridge.kit import problems
from lendbridge.kit.http import ThreadedRoute, permission
from lendbridge.servicing.schedule import apr, build_schedule
from lendbridge.servicing.schemas import ScheduleIn, ScheduleOut, schedule_out

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/schedules",
    tags=["schedules"],
    responses=problems.responses(422),
)

PUBLIC = permission(catalog.PUBLIC)


@router.post("/preview", openapi_extra=PUBLIC)
def preview_schedule(body: ScheduleIn) -> ScheduleOut:
    """The repayment plan, total interest, APR and effective annual rate of a loan, computed
    and not stored. Public: it is the calculator shown before anyone signs in. Terms are
    bounded (600 installments), so one request costs at most a few milliseconds."""
    schedule = build_schedule(body.to_terms())
    return schedule_out(schedule, apr(schedule))
