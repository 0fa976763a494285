"""Helpers for the audit tests: actors, records written in committed transactions, and
tampering behind the service's back (on PostgreSQL as a replica session, which the
append-only triggers do not fire for: what a superuser could do)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.audit import service
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import make_session_factory, unit_of_work

CLERK = Actor(
    user_id="user-1",
    roles=("clerk", "viewer"),
    client_address="203.0.113.7",
    request_id="req-1",
    device_id="device-1",
)
AUDITOR = Actor(user_id="user-2", roles=("auditor",), client_address="2001:db8::2")


def write(
    target: Engine | sessionmaker[Session],
    count: int,
    *,
    per_transaction: int = 1,
    actor: Actor = CLERK,
    action: str = "ledger.entry.post",
    target_type: str = "ledger.entry",
    target_id: str | None = None,
) -> None:
    """``count`` records, ``per_transaction`` to a committed transaction; the i-th record's
    ``after`` is ``{"i": i}`` and its target id ``e<i>`` unless one is given."""
    factory = make_session_factory(target) if isinstance(target, Engine) else target
    for start in range(0, count, per_transaction):
        with unit_of_work(factory) as session:
            for i in range(start, min(count, start + per_transaction)):
                service.record(
                    session,
                    actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id or f"e{i}",
                    before={"status": "draft"},
                    after={"i": i, "status": "posted"},
                )


def tamper(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT seq FROM audit_record ORDER BY seq")).scalars())


def head(engine: Engine) -> tuple[int, str] | None:
    """The chain head row; None when absent (the PostgreSQL test harness empties every
    table, the head included, and the first sealing commit recreates it)."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")).first()
        return None if row is None else (int(row[0]), str(row[1]))
