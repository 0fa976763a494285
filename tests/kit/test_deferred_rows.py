"""Deferred rows: written by the next flush or the commit, dropped by a rollback, written at
once inside a savepoint (so a savepoint's rollback takes them)."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import clock, deferred_rows
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.outbox import OutboxMessage

TABLE = cast(Table, OutboxMessage.__table__)


def row(topic: str) -> dict[str, object]:
    now = clock.now()
    return {"topic": topic, "payload": {}, "created_at": now, "available_at": now, "attempts": 0}


def count(session: Session, topic: str) -> int:
    return int(session.scalar(select(func.count()).where(OutboxMessage.topic == topic)) or 0)


def test_rows_are_written_by_the_flush_or_else_the_commit(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        deferred_rows.defer_insert(session, TABLE, row("t.flushed"))
        deferred_rows.defer_insert(session, TABLE, row("t.flushed"))
        assert count(session, "t.flushed") == 0  # not yet
        session.add(OutboxMessage(**row("t.orm")))
        session.flush()
        assert count(session, "t.flushed") == 2
        deferred_rows.defer_insert(session, TABLE, row("t.at_commit"))  # nothing dirty after
    with unit_of_work(session_factory) as session:
        assert count(session, "t.at_commit") == 1
        assert count(session, "t.orm") == 1


def test_a_rollback_drops_them(session_factory: sessionmaker[Session]) -> None:
    def failing() -> None:
        with unit_of_work(session_factory) as session:
            deferred_rows.defer_insert(session, TABLE, row("t.dropped"))
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        failing()
    with unit_of_work(session_factory) as session:
        assert count(session, "t.dropped") == 0
        assert deferred_rows._KEY not in session.info


def test_inside_a_savepoint_rows_go_with_it(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        savepoint = session.begin_nested()
        deferred_rows.defer_insert(session, TABLE, row("t.savepoint"))
        assert count(session, "t.savepoint") == 1  # written at once
        savepoint.rollback()
        assert count(session, "t.savepoint") == 0
