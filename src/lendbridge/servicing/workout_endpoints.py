"""Loan workout routes under /v1/loans: restructure (with a preview) and write-off, each a
maker-checker request that runs once another user approves it at /v1/approvals/{id}/approve;
and recoveries of written-off loans (``Idempotency-Key``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.approvals.schemas import ApprovalOut
from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission

# Importing the actions registers them, so a server built with these routes can approve them.
from lendbridge.servicing import loan_actions, recovery, restructure
from lendbridge.servicing.workout_schemas import (
    RecoveryIn,
    RecoveryOut,
    RestructureIn,
    RestructurePreviewOut,
    RestructureTermsIn,
    WriteOffIn,
)

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/loans",
    tags=["loans"],
    responses=problems.responses(400, 403, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]

READ = permission("loans.read")
WORKOUT = permission(loan_actions.REQUEST)
RECOVER = permission("loans.recover")


@router.post("/{loan_id}/restructure/preview", openapi_extra=WORKOUT)
def preview_restructure(
    loan_id: uuid.UUID, body: RestructureTermsIn, session: SessionDep
) -> RestructurePreviewOut:
    """The new schedule a restructure with these terms would give today, and its APR against
    the product's cap. Nothing is booked or kept."""
    return restructure.preview(session, loan_id, body)


@router.post("/{loan_id}/restructure", status_code=status.HTTP_201_CREATED, openapi_extra=WORKOUT)
def request_restructure(
    loan_id: uuid.UUID, body: RestructureIn, actor: ActorDep, session: SessionDep
) -> ApprovalOut:
    """Ask for a restructure (maker): an approval request, run when another user approves
    it. The terms are checked now (a loan that cannot be restructured, terms above the APR
    cap: refused, nothing requested)."""
    terms = RestructureTermsIn.model_validate(body.model_dump(exclude={"reason"}))
    row = approvals.request_action(
        session,
        actor,
        action=loan_actions.RESTRUCTURE.name,
        payload=loan_actions.restructure_payload(loan_id, terms),
        reason=body.reason,
    )
    session.commit()
    return ApprovalOut.of(row)


@router.post("/{loan_id}/write-off", status_code=status.HTTP_201_CREATED, openapi_extra=WORKOUT)
def request_write_off(
    loan_id: uuid.UUID, body: WriteOffIn, actor: ActorDep, session: SessionDep
) -> ApprovalOut:
    """Ask for a write-off (maker): an approval request, run when another user approves it.
    Only an active, overdue or restructured loan."""
    row = approvals.request_action(
        session,
        actor,
        action=loan_actions.WRITE_OFF.name,
        payload={"loan_id": str(loan_id)},
        reason=body.reason,
    )
    session.commit()
    return ApprovalOut.of(row)


@router.post(
    "/{loan_id}/recoveries",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=RECOVER,
    responses={200: {"model": RecoveryOut, "description": "The same request again."}},
)
def request_recovery(
    loan_id: uuid.UUID,
    body: RecoveryIn,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    response: Response,
) -> RecoveryOut:
    """Book money received for a written-off loan as recovery income: collected from the
    customer's card through ``channel`` (booked when the payment order succeeds), or taken
    from their credit balance (booked now). The loan stays written off."""
    out, created = recovery.request_recovery(
        session, loan_id, body, idempotency_key=key, actor=actor
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/{loan_id}/recoveries", openapi_extra=READ)
def list_recoveries(loan_id: uuid.UUID, session: SessionDep) -> list[RecoveryOut]:
    """The loan's recoveries, newest first."""
    return recovery.list_recoveries(session, loan_id)
