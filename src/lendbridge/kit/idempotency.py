"""Creating a row once per idempotency key: the request's key and the digest of its content
stored on the row, under a unique constraint on the key.

A retry with the same key and content finds the first row (:func:`earlier`) and returns it;
the same key with other content is a conflict naming the body. Two requests with one key at
the same moment both miss it; the second insert then fails on the constraint, inside a
savepoint (:func:`insert_once`), and is told to retry — which returns the winner's row.
"""

from __future__ import annotations

from typing import TypeVar, cast

from sqlalchemy import Table, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.kit.errors import ConcurrentRequest, FieldError, IdempotencyConflict
from lendbridge.kit.models import Base

# Any mapped class with ``id``, ``idempotency_key`` (unique) and ``request_hash`` columns.
Row = TypeVar("Row", bound=Base)


def earlier(session: Session, model: type[Row], key: str, digest: str, noun: str) -> Row | None:
    """The row an earlier request with ``key`` made, if the content (``digest``) is the same;
    None if the key is new. ``noun`` names the row in the conflict ("repayment")."""
    columns = cast(Table, model.__table__).c
    known = session.scalar(select(model).where(columns.idempotency_key == key))
    if known is None:
        return None
    stored = inspect(known).attrs
    if stored.request_hash.value != digest:
        raise IdempotencyConflict(
            f"this idempotency key was used for {noun} {stored.id.value} with other content",
            [FieldError("body", "differs from the original")],
        )
    return known


def insert_once(session: Session, row: object) -> None:
    """Insert a keyed row; a concurrent request with the same key that got there first is a
    retryable conflict, and this transaction goes on unharmed (the savepoint)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ConcurrentRequest(
            "a request with this idempotency key is in progress or just finished; retry it"
        ) from None
