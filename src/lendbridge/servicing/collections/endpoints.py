"""Collections routes: the collector queue under /v1/collections, and a loan's collection work
under /v1/loans/{loan_id}: its assignment, contact log and promises to pay. Reads need
``collections.read``, writes ``collections.manage``; a promise takes an
``Idempotency-Key``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission
from lendbridge.servicing.collections import promises, work
from lendbridge.servicing.collections.queue import QueueBucket, queue
from lendbridge.servicing.collections.schemas import (
    AssignIn,
    AssignmentOut,
    ContactIn,
    ContactOut,
    PromiseIn,
    PromiseOut,
    QueuePage,
)

router = APIRouter(
    route_class=ThreadedRoute,
    tags=["collections"],
    responses=problems.responses(400, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]

READ = permission("collections.read")
MANAGE = permission("collections.manage")
LOAN = "/v1/loans/{loan_id}"


@router.get("/v1/collections/queue", openapi_extra=READ)
def collector_queue(
    session: SessionDep,
    bucket: QueueBucket | None = None,
    assignee: Annotated[
        uuid.UUID | None, Query(description="Only loans assigned to this collector.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> QueuePage:
    """Overdue loans, the most days past due first (then by id), a page at a time
    (``next_cursor``): days past due and bucket as of the last close, the amount overdue,
    the assignee, the last contact and the open promise."""
    return queue(session, bucket=bucket, assignee=assignee, limit=limit, cursor=cursor)


@router.post(f"{LOAN}/collection/assign", openapi_extra=MANAGE)
def assign(
    loan_id: uuid.UUID, body: AssignIn, actor: ActorDep, session: SessionDep
) -> AssignmentOut:
    """Give the loan to a collector (a staff user whose role grants collections.manage); the
    previous assignment ends and stays in the history."""
    out, _ = work.assign(session, loan_id, body.collector, actor)
    session.commit()
    return out


@router.get(f"{LOAN}/contacts", openapi_extra=READ)
def list_contacts(
    loan_id: uuid.UUID,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ContactOut]:
    """The loan's contact log, newest first."""
    return work.list_contacts(session, loan_id, limit)


@router.post(f"{LOAN}/contacts", status_code=status.HTTP_201_CREATED, openapi_extra=MANAGE)
def log_contact(
    loan_id: uuid.UUID, body: ContactIn, actor: ActorDep, session: SessionDep
) -> ContactOut:
    """Record an attempt to reach the customer: channel, outcome and a short note (phone
    numbers in it are stored masked)."""
    out = work.log_contact(session, loan_id, body, actor)
    session.commit()
    return out


@router.get(f"{LOAN}/promises", openapi_extra=READ)
def list_promises(
    loan_id: uuid.UUID,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PromiseOut]:
    """The loan's promises to pay, newest first."""
    return promises.list_promises(session, loan_id, limit)


@router.post(f"{LOAN}/promises", status_code=status.HTTP_201_CREATED, openapi_extra=MANAGE)
def make_promise(
    loan_id: uuid.UUID,
    body: PromiseIn,
    key: KeyDep,
    actor: ActorDep,
    session: SessionDep,
    response: Response,
) -> PromiseOut:
    """Record the customer's promise to pay an amount by a date (not before the business
    date); the close after that date finds it kept or broken. Repeating the request with the
    same key returns the first promise (200)."""
    out, created = promises.make_promise(session, loan_id, body, idempotency_key=key, actor=actor)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.post(f"{LOAN}/promises/{{promise_id}}/cancel", openapi_extra=MANAGE)
def cancel_promise(
    loan_id: uuid.UUID, promise_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> PromiseOut:
    """Cancel an open promise to pay."""
    out = promises.cancel_promise(session, loan_id, promise_id, actor)
    session.commit()
    return out
