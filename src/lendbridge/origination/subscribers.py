"""An application becomes active when its loan does: the servicing domain announces the
loan's activation (``loans.loan.activated``, after the commit that paid it out) and this
job moves the application that led to it. Idempotent: a repeated event finds it moved."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import events, jobs
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.logging import get_logger
from lendbridge.origination import lifecycle
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.servicing.disbursement import ACTIVATED

log = get_logger(__name__)

JOB = "origination.on_loan_activated"


@events.subscribe(ACTIVATED, name=JOB)
def on_loan_activated(ctx: jobs.JobContext, topic: str, payload: dict[str, Any]) -> None:
    with unit_of_work(ctx.factory) as session:
        effect = handle(session, payload)
    log.info("application_loan_activated", loan_id=payload.get("loan_id"), effect=effect)


def handle(session: Session, payload: Mapping[str, Any]) -> str:
    loan_id = uuid.UUID(str(payload["loan_id"]))
    row = session.scalar(
        select(LoanApplication).where(LoanApplication.loan_id == loan_id).with_for_update()
    )
    if row is None:
        return "ignored: the loan came from no application"
    if row.status != ApplicationStatus.SIGNED.value:
        return f"ignored: the application is {row.status}"
    lifecycle.move(
        session,
        row,
        ApplicationStatus.ACTIVE,
        reason=f"loan {loan_id} paid out",
        actor=system_actor(JOB),
    )
    session.flush()
    return "activated"
