"""Requesting, approving and rejecting sensitive actions.

Rules: the maker needs the action's own permission; the checker needs ``approvals.decide``
and must be another user (also enforced by a CHECK constraint); a request is decided once
(the row is locked while deciding), runs its action at most once, and expires unanswered
after ``TTL``. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals import actions
from lendbridge.approvals.models import ApprovalRequest, ApprovalStatus
from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from lendbridge.kit.ids import new_id

TTL = dt.timedelta(hours=72)
DECIDE = "approvals.decide"


class UnknownAction(ValidationFailed):
    code = "approvals.unknown_action"
    title = "No such action needs approval"


class NotAllowedToRequest(Conflict):
    status = 403
    code = "approvals.not_allowed"
    title = "Your roles do not allow requesting this action"


class ApprovalNotFound(NotFound):
    code = "approvals.not_found"
    title = "Approval request not found"


class NotPending(Conflict):
    code = "approvals.not_pending"
    title = "The request was already decided or has expired"


class OwnRequest(Conflict):
    status = 403
    code = "approvals.own_request"
    title = "The maker of a request cannot approve or reject it"


def request_action(
    session: Session,
    maker: Actor,
    *,
    action: str,
    payload: Mapping[str, Any],
    reason: str,
) -> ApprovalRequest:
    spec = actions.get(action)
    if spec is None:
        raise field_error(UnknownAction, "action", f"no action {action!r} needs approval")
    if maker.user_id is None or not maker.may(spec.maker_permission):
        raise NotAllowedToRequest(f"requesting {action} needs {spec.maker_permission!r}")
    clean = spec.validate(session, payload)
    now = clock.now()
    row = ApprovalRequest(
        id=new_id(),
        action=action,
        payload=clean,
        summary=spec.description[:500],
        status=ApprovalStatus.PENDING.value,
        maker_id=maker.user_id,
        maker_roles=",".join(maker.roles)[:200],
        reason=reason,
        created_at=now,
        expires_at=now + TTL,
    )
    session.add(row)
    session.flush()
    record(
        session,
        maker,
        action="approvals.request",
        target_type="approval_request",
        target_id=str(row.id),
        after={"action": action, "status": row.status, "reason": reason},
    )
    return row


def decide(
    session: Session,
    checker: Actor,
    request_id: uuid.UUID,
    *,
    approve: bool,
    note: str,
) -> ApprovalRequest:
    """Approve (and run the action, once) or reject a pending request."""
    row = session.scalar(
        select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update()
    )
    if row is None:
        raise ApprovalNotFound(f"no approval request {request_id}")
    if row.maker_id == checker.user_id:
        raise OwnRequest("you made this request; another user with approval rights decides it")
    now = clock.now()
    if row.status == ApprovalStatus.PENDING and row.expires_at <= now:
        _expire(session, row)
    if row.status != ApprovalStatus.PENDING:
        raise NotPending(f"the request is {row.status}")
    spec = actions.get(row.action)
    if spec is None:
        raise UnknownAction(f"the action {row.action!r} is no longer available")
    before = {"status": row.status}
    row.checker_id = checker.user_id
    row.decided_at = now
    row.decision_note = note
    if approve:
        maker = Actor(user_id=row.maker_id, roles=tuple(row.maker_roles.split(",")))
        row.result = spec.run(session, actions.Approved(str(row.id), row.payload, maker, checker))
        row.status = ApprovalStatus.APPROVED.value
    else:
        row.status = ApprovalStatus.REJECTED.value
    session.flush()
    record(
        session,
        checker,
        action="approvals.approve" if approve else "approvals.reject",
        target_type="approval_request",
        target_id=str(row.id),
        before=before,
        after={"status": row.status, "note": note, "result": row.result},
    )
    return row


def get(session: Session, request_id: uuid.UUID, viewer: Actor) -> ApprovalRequest:
    """Checkers see every request; makers their own; anyone else gets 'not found'."""
    row = session.get(ApprovalRequest, request_id)
    if row is None or not (viewer.may(DECIDE) or row.maker_id == viewer.user_id):
        raise ApprovalNotFound(f"no approval request {request_id}")
    return row


def listing(
    session: Session,
    viewer: Actor,
    *,
    status: ApprovalStatus | None,
    mine: bool,
    limit: int,
) -> list[ApprovalRequest]:
    stmt = select(ApprovalRequest).order_by(ApprovalRequest.created_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status.value)
    if mine or not viewer.may(DECIDE):
        stmt = stmt.where(ApprovalRequest.maker_id == viewer.user_id)
    return list(session.scalars(stmt))


def expire_overdue(session: Session, actor: Actor) -> int:
    """Mark every pending request past its expiry as expired (the daily close calls this)."""
    now = clock.now()
    overdue = list(
        session.scalars(
            select(ApprovalRequest)
            .where(
                ApprovalRequest.status == ApprovalStatus.PENDING.value,
                ApprovalRequest.expires_at <= now,
            )
            .with_for_update()
        )
    )
    for row in overdue:
        _expire(session, row, actor)
    return len(overdue)


def _expire(session: Session, row: ApprovalRequest, actor: Actor | None = None) -> None:
    row.status = ApprovalStatus.EXPIRED.value
    session.flush()
    record(
        session,
        actor or Actor(user_id="system:approvals", roles=("system",)),
        action="approvals.expire",
        target_type="approval_request",
        target_id=str(row.id),
        before={"status": "pending"},
        after={"status": "expired"},
    )
