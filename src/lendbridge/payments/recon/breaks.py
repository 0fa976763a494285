"""Working the break queue: link a line to its order, or explain a break in writing.

The third resolution, an adjusting ledger entry, needs a second person and goes through
maker-checker (``approval_actions.py``). Every resolution is audited, and a resolved break
stays resolved.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, ValidationFailed, field_error
from lendbridge.payments.models import PaymentOrder
from lendbridge.payments.recon.matching import agrees, movement_of
from lendbridge.payments.recon.models import (
    BreakKind,
    BreakStatus,
    ReconBreak,
    ReconRun,
    Resolution,
)
from lendbridge.payments.recon.schemas import BreakOut, ResolveAction, ResolveIn
from lendbridge.payments.recon.views import break_out, get_break

ADJUST_ACTION = "payments.recon.adjust"


class BreakResolved(Conflict):
    code = "recon_break_resolved"
    title = "The break is already resolved"


class CannotLink(Conflict):
    code = "recon_cannot_link"
    title = "The line cannot be linked to that order"


def require_open(found: ReconBreak) -> None:
    if found.status != BreakStatus.OPEN:
        raise BreakResolved(
            f"break {found.id} was resolved ({found.resolution}) by {found.resolved_by}",
        )


def close(
    session: Session,
    found: ReconBreak,
    resolution: Resolution,
    *,
    note: str,
    by: Actor,
    action: str,
    **links: uuid.UUID | None,
) -> None:
    """Mark ``found`` resolved (the caller locked it) and audit it."""
    before = {"status": found.status}
    found.status = BreakStatus.RESOLVED.value
    found.resolution = resolution.value
    found.note = note
    found.resolved_by = (by.user_id or "system")[:64]
    found.resolved_at = clock.now()
    found.resolved_on = calendar.business_date(session)
    for name, value in links.items():
        setattr(found, name, value)
    session.flush()
    record(
        session,
        by,
        action=action,
        target_type="recon_break",
        target_id=str(found.id),
        before=before,
        after={
            "status": found.status,
            "resolution": found.resolution,
            "kind": found.kind,
            "note": note[:500],
            **{name: str(value) for name, value in links.items() if value is not None},
        },
    )


def resolve(session: Session, break_id: int, request: ResolveIn, actor: Actor) -> BreakOut:
    if request.resolution == ResolveAction.ADJUST:
        raise field_error(
            ValidationFailed,
            "resolution",
            f"an adjusting entry needs a checker: POST /v1/approvals with action "
            f"{ADJUST_ACTION} and payload {{'break_id': {break_id}}}",
        )
    found = get_break(session, break_id, lock=True)
    require_open(found)
    if request.resolution == ResolveAction.EXPLAIN:
        close(
            session,
            found,
            Resolution.EXPLAINED,
            note=request.note,
            by=actor,
            action="payments.recon.break.explained",
        )
        return break_out(found)
    assert request.order_id is not None, "checked by ResolveIn"
    _link(session, found, request.order_id, request.note, actor)
    return break_out(found)


def _link(
    session: Session, found: ReconBreak, order_id: uuid.UUID, note: str, actor: Actor
) -> None:
    """The line of ``found`` belongs to ``order_id`` after all (its order_no was missing or
    wrong): checked like a match, then the break, and an open 'missing at the channel'
    break of that order's movement, are resolved together."""
    if found.kind != BreakKind.MISSING_ON_PLATFORM or found.statement_amount is None:
        raise field_error(
            CannotLink,
            "resolution",
            f"only a line missing on the platform can be linked; this break is {found.kind}",
        )
    order = session.get(PaymentOrder, order_id)
    if order is None or order.channel != found.channel:
        raise field_error(
            ValidationFailed, "order_id", f"channel {found.channel} has no payment order {order_id}"
        )
    statement_status = found.statement_status or ""
    if (order.direction, order.currency) != (found.direction, found.currency):
        raise field_error(
            CannotLink,
            "order_id",
            f"the order is {order.direction} {order.currency}, the line {found.direction} "
            f"{found.currency}",
        )
    if not agrees(statement_status, order.status):
        raise field_error(
            CannotLink,
            "order_id",
            f"the statement says {statement_status}, the order is {order.status}",
        )
    run = session.get(ReconRun, found.run_id)
    tolerance = run.amount_tolerance if run is not None else 0
    if abs(order.amount - found.statement_amount) > tolerance:
        raise field_error(
            CannotLink,
            "order_id",
            f"the order is {order.amount}, the line {found.statement_amount}: explain the "
            "difference or request an adjusting entry",
        )
    movement = movement_of(statement_status)
    close(
        session,
        found,
        Resolution.LINKED,
        note=note,
        by=actor,
        action="payments.recon.break.linked",
        linked_order_id=order.id,
    )
    counterparts = session.scalars(
        select(ReconBreak)
        .where(
            ReconBreak.order_id == order.id,
            ReconBreak.kind == BreakKind.MISSING_AT_CHANNEL.value,
            ReconBreak.movement == movement.value,
            ReconBreak.status == BreakStatus.OPEN.value,
        )
        .order_by(ReconBreak.id)
        .with_for_update()
    )
    for other in counterparts:
        close(
            session,
            other,
            Resolution.LINKED,
            note=f"line {found.line_no} of run {found.run_id} (break {found.id}): {note}",
            by=actor,
            action="payments.recon.break.linked",
            linked_order_id=order.id,
        )
