"""Rows written together at the next flush: multi-row INSERTs for batch paths.

A batch that records hundreds of append-only rows (status transitions, outbox events) spends
most of its time in the ORM's unit of work when each row is an object, and more turning the
large INSERT ... RETURNING statements the ORM builds for database-generated keys into the
driver's format. Rows nobody reads back in the same transaction can skip all that:
``defer_insert`` keeps them as plain dicts and the next flush of the session writes them with
one executemany per table (no RETURNING), after the ORM's own writes, so foreign keys to rows
flushed at the same time hold. The commit writes any left over (a flush with nothing dirty
does not run), and a rollback drops them with the transaction.

Inside a savepoint the row is written at once instead: a savepoint rolled back alone must
take its rows with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session, UOWTransaction

_KEY = "lendbridge.deferred_rows"


def defer_insert(session: Session, table: Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` into ``table`` at the session's next flush (see the module)."""
    if session.in_nested_transaction():
        session.connection().execute(insert(table), [dict(row)])
        return
    pending: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_KEY, {})
    pending.setdefault(table, []).append(dict(row))


def write(session: Session) -> None:
    """Write every deferred row now (tables in the order they were first used)."""
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_KEY, None)
    if not pending:
        return
    connection = session.connection()
    for table, rows in pending.items():
        connection.execute(insert(table), rows)


@event.listens_for(Session, "after_flush_postexec")
def _after_flush(session: Session, _context: UOWTransaction) -> None:
    write(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
