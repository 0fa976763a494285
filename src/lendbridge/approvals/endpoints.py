"""Maker-checker routes under /v1/approvals."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from lendbridge.approvals import service
from lendbridge.approvals.models import ApprovalStatus
from lendbridge.approvals.schemas import ApprovalIn, ApprovalOut, DecisionIn
from lendbridge.identity import catalog
from lendbridge.identity.auth import ActorDep
from lendbridge.kit import problems
from lendbridge.kit.http import ThreadedRoute, get_session, permission

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/approvals",
    tags=["approvals"],
    responses=problems.responses(400, 404, 409, 413, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=permission(catalog.SELF))
def request_approval(body: ApprovalIn, actor: ActorDep, session: SessionDep) -> ApprovalOut:
    """Ask for a sensitive action; it runs when another user approves it. The action's own
    permission is checked here (e.g. ``identity.roles.grant`` for a role grant)."""
    row = service.request_action(
        session, actor, action=body.action, payload=body.payload, reason=body.reason
    )
    session.commit()
    return ApprovalOut.of(row)


@router.get("", openapi_extra=permission(catalog.SELF))
def list_approvals(
    actor: ActorDep,
    session: SessionDep,
    state: Annotated[ApprovalStatus | None, Query(description="e.g. pending: the inbox")] = None,
    mine: Annotated[bool, Query(description="Only requests I made")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ApprovalOut]:
    """Checkers see every request (the inbox: ``state=pending``); others their own."""
    rows = service.listing(session, actor, status=state, mine=mine, limit=limit)
    return [ApprovalOut.of(r) for r in rows]


@router.get("/{request_id}", openapi_extra=permission(catalog.SELF))
def get_approval(request_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> ApprovalOut:
    return ApprovalOut.of(service.get(session, request_id, actor))


@router.post("/{request_id}/approve", openapi_extra=permission(service.DECIDE))
def approve(
    request_id: uuid.UUID, body: DecisionIn, actor: ActorDep, session: SessionDep
) -> ApprovalOut:
    """Approve another user's request: its action runs now, once."""
    row = service.decide(session, actor, request_id, approve=True, note=body.note)
    session.commit()
    return ApprovalOut.of(row)


@router.post("/{request_id}/reject", openapi_extra=permission(service.DECIDE))
def reject(
    request_id: uuid.UUID, body: DecisionIn, actor: ActorDep, session: SessionDep
) -> ApprovalOut:
    row = service.decide(session, actor, request_id, approve=False, note=body.note)
    session.commit()
    return ApprovalOut.of(row)
