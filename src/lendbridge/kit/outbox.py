"""The transactional outbox: events and jobs leave the platform only after the commit that
caused them.

A domain calls :func:`publish` inside its own transaction; the message is a row in
``outbox_message``, committed (or rolled back) with the change it announces. A dispatcher
(:func:`dispatch`, run by a worker loop or the close of business) later hands each message to
the handler registered for its topic, in its own transaction, and marks it done in that same
transaction — so a handler's effects and the "done" mark commit together, and a handler that
fails is retried with exponential backoff, never skipped. Handlers must be idempotent: a
crash between a handler's side effect outside the database and the commit repeats it.

On PostgreSQL, concurrent dispatchers claim disjoint messages (``FOR UPDATE SKIP LOCKED``);
on SQLite one writer at a time dispatches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import JSON, Index, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from lendbridge.kit import clock, db, deferred_rows
from lendbridge.kit.logging import get_logger
from lendbridge.kit.models import Base, BigIntPK, UTCDateTime

log = get_logger(__name__)

MAX_BACKOFF = dt.timedelta(hours=1)
Handler = Callable[[Session, dict[str, Any]], None]


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_pending", "processed_at", "available_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Which transaction published it, for tracing a message back to its cause.
    request_id: Mapped[str | None] = mapped_column(String(64))


def publish(
    session: Session,
    topic: str,
    payload: Mapping[str, Any],
    *,
    request_id: str | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Queue ``payload`` for ``topic`` in the caller's transaction (nothing is sent now).
    ``flush=False`` leaves the insert to the caller's next flush (batches), so the message
    has no id yet; batches that do not need the message back use :func:`publish_deferred`."""
    now = clock.now()
    message = OutboxMessage(
        topic=topic,
        payload=dict(payload),
        created_at=now,
        available_at=now,
        attempts=0,
        request_id=request_id,
    )
    session.add(message)
    if flush:
        session.flush()
    return message


def publish_deferred(
    session: Session, topic: str, payload: Mapping[str, Any], *, request_id: str | None = None
) -> None:
    """:func:`publish` for batches: the row is written with the batch's other rows in one
    multi-row insert at the next flush (``kit/deferred_rows.py``)."""
    now = clock.now()
    deferred_rows.defer_insert(
        session,
        cast(Table, OutboxMessage.__table__),
        {
            "topic": topic,
            "payload": dict(payload),
            "created_at": now,
            "available_at": now,
            "attempts": 0,
            "request_id": request_id,
        },
    )


@dataclass
class DispatchReport:
    delivered: int = 0
    failed: int = 0
    unhandled_topics: set[str] = field(default_factory=set)


def backoff(attempts: int) -> dt.timedelta:
    """1 s, 2 s, 4 s ... capped at an hour."""
    return min(dt.timedelta(seconds=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def dispatch(
    factory: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    *,
    limit: int = 100,
) -> DispatchReport:
    """Deliver up to ``limit`` due messages, one transaction each. Messages of a topic with
    no handler stay queued (and are reported) until one is registered."""
    report = DispatchReport()
    for _ in range(limit):
        with factory() as session:
            message = _claim(session, topics=list(handlers))
            if message is None:
                session.rollback()
                break
            handler = handlers[message.topic]
            try:
                with session.begin_nested():
                    handler(session, dict(message.payload))
                message.processed_at = clock.now()
                report.delivered += 1
            except Exception as exc:  # any handler failure is recorded and retried later
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.available_at = clock.now() + backoff(message.attempts)
                report.failed += 1
                log.warning(
                    "outbox_delivery_failed",
                    topic=message.topic,
                    message_id=message.id,
                    attempts=message.attempts,
                    error=type(exc).__name__,
                )
            session.commit()
    with factory() as session:
        waiting = session.scalars(
            select(OutboxMessage.topic)
            .where(OutboxMessage.processed_at.is_(None))
            .where(OutboxMessage.topic.not_in(list(handlers) or [""]))
            .distinct()
        )
        report.unhandled_topics = set(waiting)
    return report


def _claim(session: Session, *, topics: list[str]) -> OutboxMessage | None:
    if not topics:
        return None
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.processed_at.is_(None),
            OutboxMessage.available_at <= clock.now(),
            OutboxMessage.topic.in_(topics),
        )
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if db.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)
