"""Risk-list routes under /v1/risk-list: add, list, read and remove entries. Responses carry
the masked value only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, permission
from lendbridge.risklist import service
from lendbridge.risklist.models import RiskListKind
from lendbridge.risklist.schemas import EntryIn, EntryOut, EntryPage, RemoveIn, entry_out

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/risk-list",
    tags=["risk list"],
    responses=problems.responses(400, 403, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]

READ = permission("risk_list.read")
MANAGE = permission("risk_list.manage")


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=MANAGE)
def add_entry(body: EntryIn, actor: ActorDep, session: SessionDep) -> EntryOut:
    """Put a resident id, mainland mobile number or bank card on the risk list. The value is
    checked and normalised as at real-name verification, then kept only as a keyed blind
    index and a mask. A value already actively listed is a 409 naming `value`."""
    entry = service.add(
        session, actor, kind=body.kind, value=body.value, reason=body.reason, source=body.source
    )
    out = entry_out(entry)
    session.commit()
    return out


@router.get("", openapi_extra=READ)
def list_entries(
    session: SessionDep,
    kind: RiskListKind | None = None,
    active: Annotated[
        bool | None, Query(description="true: listed now; false: removed; default: both.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EntryPage:
    """Entries, newest first, a page at a time (`next_cursor`)."""
    return service.listing(session, kind=kind, active=active, limit=limit, cursor=cursor)


@router.get("/{entry_id}", openapi_extra=READ)
def get_entry(entry_id: uuid.UUID, session: SessionDep) -> EntryOut:
    return entry_out(service.get(session, entry_id))


@router.post("/{entry_id}/remove", openapi_extra=MANAGE)
def remove_entry(
    entry_id: uuid.UUID, body: RemoveIn, actor: ActorDep, session: SessionDep
) -> EntryOut:
    """Take an entry off the list, with the reason; the entry is kept, marked removed."""
    entry = service.remove(session, actor, entry_id, reason=body.reason)
    out = entry_out(entry)
    session.commit()
    return out
