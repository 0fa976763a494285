"""Audit HTTP routes under /v1/audit, for auditors: query the trail, verify the chain, read
the daily anchors. Every route is read-only and needs ``audit.read``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from lendbridge.audit import service
from lendbridge.audit.models import (
    ACTION_LEN,
    ACTOR_ID_LEN,
    TARGET_ID_LEN,
    TARGET_TYPE_LEN,
)
from lendbridge.audit.schemas import (
    AnchorPage,
    RecordPage,
    VerifyReport,
)
from lendbridge.kit import problems
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.http import ThreadedRoute, get_session, permission
from lendbridge.kit.schemas import IsoAwareDateTime, IsoDate

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/audit",
    tags=["audit"],
    responses=problems.responses(400, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
READ = permission("audit.read")

# Printable text only: a control character (NUL above all, which PostgreSQL refuses in text)
# is a 422 on the field, not a database error.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
_NAME = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
MAX_SEQ = 2**63 - 1


@router.get("/records", openapi_extra=READ)
def list_records(
    session: SessionDep,
    actor: Annotated[
        str | None,
        Query(max_length=ACTOR_ID_LEN, pattern=_PRINTABLE, description="The actor's user id."),
    ] = None,
    target_type: Annotated[
        str | None, Query(max_length=TARGET_TYPE_LEN, pattern=_NAME, examples=["ledger.entry"])
    ] = None,
    target_id: Annotated[
        str | None,
        Query(
            max_length=TARGET_ID_LEN,
            pattern=_PRINTABLE,
            description="Only with target_type.",
        ),
    ] = None,
    action: Annotated[
        str | None, Query(max_length=ACTION_LEN, pattern=_NAME, examples=["ledger.entry.post"])
    ] = None,
    from_time: Annotated[
        IsoAwareDateTime | None,
        Query(alias="from", description="Recorded at or after (ISO 8601 with an offset)."),
    ] = None,
    to_time: Annotated[
        IsoAwareDateTime | None,
        Query(alias="to", description="Recorded before (exclusive; ISO 8601 with an offset)."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=100, pattern=_PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    order: Annotated[Literal["asc", "desc"], Query(description="Chain order or newest first.")] = (
        "asc"
    ),
) -> RecordPage:
    """Audit records matching every given filter, a page at a time (``next_cursor``)."""
    return service.list_records(
        session,
        actor_id=actor,
        target_type=target_type,
        target_id=target_id,
        action=action,
        from_time=from_time,
        to_time=to_time,
        cursor=cursor,
        limit=limit,
        descending=order == "desc",
    )


@router.get("/verify", openapi_extra=READ)
def verify_chain(
    session: SessionDep,
    from_seq: Annotated[int, Query(ge=1, le=MAX_SEQ)] = 1,
    limit: Annotated[
        int,
        Query(ge=1, le=1_000_000, description="Records to check (about 50,000 per second)."),
    ] = 100_000,
) -> VerifyReport:
    """Recompute hashes and links from ``from_seq``; ``ok`` false names the first bad record.
    The whole chain (and the exported anchors) is checked by ``lendbridge audit verify``."""
    return service.verify(session, from_seq=from_seq, limit=limit)


@router.get("/anchors", openapi_extra=READ)
def list_anchors(
    session: SessionDep,
    day: Annotated[
        IsoDate | None, Query(description="The anchor at the end of this business day.")
    ] = None,
    from_day: Annotated[IsoDate | None, Query(alias="from")] = None,
    to_day: Annotated[IsoDate | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 366,
) -> AnchorPage:
    """With ``day``: the chain head at the end of that business day. Otherwise one anchor
    per business day with records, between ``from`` and ``to`` (inclusive), in day order."""
    if day is not None:
        if from_day is not None or to_day is not None:
            raise field_error(ValidationFailed, "day", "give either day or from/to, not both")
        return AnchorPage(items=[service.anchor(session, day)])
    if from_day is not None and to_day is not None and from_day > to_day:
        raise field_error(ValidationFailed, "to", "is before from")
    return AnchorPage(items=service.anchors(session, from_day=from_day, to_day=to_day, limit=limit))
