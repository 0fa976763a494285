"""Status changes of an application: checked against ``states.py``, written as a transition
row and an audit record in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.origination import states
from lendbridge.origination.errors import IllegalApplicationMove
from lendbridge.origination.models import (
    ApplicationStatus,
    ApplicationTransition,
    LoanApplication,
)

TARGET = "loan_application"


def actor_name(actor: Actor) -> str:
    return (actor.user_id or "system")[:128]


def move(
    session: Session,
    application: LoanApplication,
    target: ApplicationStatus,
    *,
    reason: str,
    actor: Actor,
    details: dict[str, Any] | None = None,
    initial: bool = False,
    day: dt.date | None = None,
) -> None:
    """Move ``application`` to ``target``, or refuse; ``initial``: a new application's
    first status (already set on the row)."""
    current = None if initial else ApplicationStatus(application.status)
    if not states.allowed(current, target):
        raise IllegalApplicationMove(
            f"application {application.id} is {current.value if current else 'new'}: it "
            f"cannot become {target.value}"
        )
    now = clock.now()
    application.status = target.value
    if not initial:  # a new row has its times already
        application.updated_at = now
    session.add(
        ApplicationTransition(
            application_id=application.id,
            from_status=current.value if current else None,
            to_status=target.value,
            reason=reason[:200],
            actor=actor_name(actor),
            business_date=day or calendar.business_date(session),
            at=now,
        )
    )
    record(
        session,
        actor,
        action=f"origination.application.{target.value}",
        target_type=TARGET,
        target_id=str(application.id),
        before={"status": current.value} if current else None,
        after={"status": target.value, "reason": reason[:200], **(details or {})},
    )
