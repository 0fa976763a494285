"""Engines, sessions and the unit of work.

Services ``flush()``; the edge (HTTP request, job, CLI command) owns the transaction through
:func:`unit_of_work`. PostgreSQL-only features live here behind one function each, with a
SQLite path, so the embedded default keeps working.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    Uuid,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry


def normalise_url(url: str | URL) -> URL:
    """``postgresql://`` means psycopg 3 here; a SQLite file gets its directory created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def make_engine(url: str | URL, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per transaction on the hot path. Connections are
        # recycled instead, and a dead one fails its request, which the client retries.
        pool_recycle=1800,
        # Prepared statements after the first use: the ledger's hot statements repeat.
        connect_args={"prepare_threshold": 1},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: SQLite's single writer then serialises read-modify-write
        # cycles (balance checks) instead of failing them with SQLITE_BUSY on upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The edge's transaction: commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


def postgres_connection(session: Session) -> Any | None:
    """The psycopg connection under the session's transaction, or None on other databases.

    Hot paths use it to send hand-written statements (one round trip each, prepared by psycopg)
    inside the session's transaction.
    """
    if not is_postgres(session):
        return None
    return session.connection().connection.driver_connection


def insert_ignoring_duplicates(session: Session, table: Table) -> Any:
    """An INSERT that skips a row whose unique key exists already (``rowcount`` 0 then),
    instead of failing the transaction: no savepoint needed around it."""
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing()


def upsert_add(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    add: Sequence[str],
) -> None:
    """Insert rows, or add their ``add`` columns onto the existing row with the same ``key``."""
    if not rows:
        return
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + stmt.excluded[name] for name in add},
    )
    session.execute(stmt, list(rows))


def pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers, dates or uuids (None is NULL), for a parameter
    cast to an array type: psycopg adapts a list at ~1 us per element, the server parses a
    literal in a fraction of that."""
    return "{" + ",".join(_literal(v) for v in values) + "}"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, uuid.UUID):
        return value.hex  # PostgreSQL reads a uuid without hyphens; str() costs 3x as much
    return str(value)


def pg_text_array(values: Iterable[str | None]) -> str:
    """A PostgreSQL array literal of strings (quoted; None is NULL)."""
    return (
        "{"
        + ",".join(
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        + "}"
    )


def uuid_in(session: Session, column: Any, ids: Sequence[uuid.UUID]) -> Any:
    """``column IN ids`` for a batch of thousands: on PostgreSQL one array parameter
    (``= ANY(...)``), so the statement is one text psycopg prepares once, not thousands of
    placeholders converted on every call."""
    if not is_postgres(session):
        return column.in_(ids)
    return column == any_(
        cast(bindparam("ids", pg_array(ids), unique=True), postgresql.ARRAY(Uuid()))
    )
