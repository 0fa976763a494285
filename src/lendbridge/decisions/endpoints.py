"""Policy routes under /v1/policies: list, read, propose (a new version, its activation
requested through maker-checker) and the what-if report. Activation is approved through the
approvals API (``/v1/approvals/{id}/approve``, permission ``approvals.decide``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy.orm import Session

from lendbridge.decisions import actions, policies
from lendbridge.decisions.policy import NAME_PATTERN, PolicyDocument
from lendbridge.decisions.schemas import (
    PolicyOut,
    PolicySummary,
    ProposedOut,
    WhatIfIn,
    WhatIfOut,
    policy_out,
    summary,
    what_if_out,
)
from lendbridge.decisions.what_if import what_if
from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, permission

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/policies",
    tags=["policies"],
    responses=problems.responses(400, 403, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
NamePath = Annotated[str, Path(min_length=2, max_length=64, pattern=NAME_PATTERN)]

READ = permission("policies.read")
PROPOSE = permission(actions.PROPOSE)


@router.get("", openapi_extra=READ)
def list_policies(session: SessionDep) -> list[PolicySummary]:
    """Every version of every decision policy, by name, newest version first."""
    return [summary(row) for row in policies.listing(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=PROPOSE,
    responses={200: {"model": ProposedOut, "description": "An equal version exists."}},
)
def propose_policy(
    body: PolicyDocument, actor: ActorDep, session: SessionDep, response: Response
) -> ProposedOut:
    """Propose a new version of a policy (validated: every expression against the declared
    facts and their types, grade cut-offs, rates) and request its activation; another user
    with `approvals.decide` approves it at `/v1/approvals/{approval_id}/approve`. A document
    equal to a pending or active version writes nothing and answers 200."""
    proposed, approval_id = actions.propose_for_activation(session, body, actor)
    out = ProposedOut(
        policy=policy_out(proposed.row), created=proposed.created, approval_id=approval_id
    )
    session.commit()
    if not proposed.created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post("/what-if", openapi_extra=READ)
def what_if_report(body: WhatIfIn, session: SessionDep) -> WhatIfOut:
    """Replay a candidate policy against the latest stored decision of past applications
    (their input snapshots): how many would change, per outcome and grade, and the approval
    rate before and after. Nothing is stored."""
    return what_if_out(what_if(session, body.policy, limit=body.limit))


@router.get("/{name}", openapi_extra=READ)
def get_policy(
    name: NamePath,
    session: SessionDep,
    version: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="Default: the active one.")
    ] = None,
) -> PolicyOut:
    """A policy version with its document: by default the active one (else the newest)."""
    return policy_out(policies.get(session, name, version))
