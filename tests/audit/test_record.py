"""record() inside the caller's transaction: sealed into the chain at commit, gone with a
rollback, one gap-free order across transactions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lendbridge.audit import service
from lendbridge.audit.chain import record_hash
from lendbridge.audit.models import GENESIS_HASH, AuditRecord
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from tests.audit.factories import AUDITOR, CLERK, head, seqs, tamper, write
from tests.conftest import TODAY

INSTANT = dt.datetime(2026, 1, 15, 2, 30, tzinfo=dt.UTC)


def records(engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))


def test_a_record_carries_who_what_when_where_and_the_values(engine, session_factory):
    with clock.use_clock(clock.fixed(INSTANT)), unit_of_work(session_factory) as session:
        service.record(
            session,
            CLERK,
            action="identity.customer.update",
            target_type="identity.customer",
            target_id="c-9",
            before={"phone": "138****5678", "limit": 5000},
            after={"phone": "139****0000", "limit": 8000},
        )
    (r,) = records(engine)
    assert (r.seq, r.prev_hash) == (1, GENESIS_HASH)
    assert (r.actor_id, r.actor_role) == ("user-1", "clerk")
    assert (r.client_address, r.request_id, r.device_id) == ("203.0.113.7", "req-1", "device-1")
    assert (r.action, r.target_type, r.target_id) == (
        "identity.customer.update",
        "identity.customer",
        "c-9",
    )
    assert r.recorded_at == INSTANT
    assert r.recorded_at.tzinfo is not None
    assert r.business_date == TODAY
    assert r.before == {"phone": "138****5678", "limit": 5000}
    assert r.after == {"phone": "139****0000", "limit": 8000}
    assert r.hash == record_hash(
        1,
        GENESIS_HASH,
        "2026-01-15T02:30:00.000000+00:00",
        "2026-01-15",
        "user-1",
        "clerk",
        "203.0.113.7",
        "req-1",
        "device-1",
        "identity.customer.update",
        "identity.customer",
        "c-9",
        '{"limit":5000,"phone":"138****5678"}',
        '{"limit":8000,"phone":"139****0000"}',
    )
    assert head(engine) == (1, r.hash)


def test_records_chain_across_transactions_in_commit_order(engine, session_factory):
    write(session_factory, 5, per_transaction=2)
    with unit_of_work(session_factory) as session:
        service.record(session, system_actor("close"), action="platform.close", target_type="day")
    rows = records(engine)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r.prev_hash for r in rows] == [GENESIS_HASH] + [r.hash for r in rows[:-1]]
    assert [r.after["i"] for r in rows[:5]] == [0, 1, 2, 3, 4]
    assert (rows[5].actor_id, rows[5].actor_role, rows[5].before) == (
        "system:close",
        "system",
        None,
    )
    assert head(engine) == (6, rows[5].hash)
    assert service.verify(engine).ok


def test_commit_without_flush_seals_and_domain_writes_share_the_transaction(
    engine, session_factory
):
    session = session_factory()
    try:
        service.record(session, AUDITOR, action="audit.records.export", target_type="audit")
        calendar.set_business_date(session, dt.date(2026, 1, 16))
        session.commit()
    finally:
        session.close()
    (r,) = records(engine)
    # The business date is read when the records are sealed, in the same transaction.
    assert r.business_date == dt.date(2026, 1, 16)
    assert r.actor_role == "auditor"


def test_rollback_leaves_no_record_and_no_gap(engine, session_factory):
    write(session_factory, 2)

    def failing_operation() -> None:
        with unit_of_work(session_factory) as session:
            service.record(session, CLERK, action="ledger.entry.post", target_type="ledger.entry")
            session.flush()
            raise RuntimeError("the business operation failed")

    with pytest.raises(RuntimeError):
        failing_operation()
    write(session_factory, 1)
    assert seqs(engine) == [1, 2, 3]
    assert service.verify(engine).ok


def test_a_record_before_any_statement_is_dropped_by_rollback(engine, session_factory):
    with session_factory() as session:
        service.record(session, CLERK, action="a.b", target_type="t")
        session.rollback()
        # The same session's next unit of work does not carry the dropped record.
        service.record(session, CLERK, action="a.kept", target_type="t")
        session.commit()
    assert [r.action for r in records(engine)] == ["a.kept"]


def test_a_rolled_back_savepoint_drops_only_its_records(engine, session_factory):
    with unit_of_work(session_factory) as session:
        service.record(session, CLERK, action="outer.before", target_type="t")
        with session.begin_nested():
            service.record(session, CLERK, action="inner.kept", target_type="t")
        savepoint = session.begin_nested()
        service.record(session, CLERK, action="inner.dropped", target_type="t")
        with session.begin_nested():
            service.record(session, CLERK, action="inner.nested.dropped", target_type="t")
        savepoint.rollback()
        service.record(session, CLERK, action="outer.after", target_type="t")
    assert [r.action for r in records(engine)] == ["outer.before", "inner.kept", "outer.after"]
    assert service.verify(engine).ok


def test_commit_with_a_savepoint_still_open_seals_everything(engine, session_factory):
    with session_factory() as session:
        service.record(session, CLERK, action="outer.first", target_type="t")
        session.begin_nested()
        service.record(session, CLERK, action="inner.open", target_type="t")
        session.commit()
    assert [r.action for r in records(engine)] == ["outer.first", "inner.open"]


def test_a_session_without_records_never_touches_the_chain(engine, session_factory):
    with unit_of_work(session_factory) as session:
        calendar.set_business_date(session, TODAY)
    assert head(engine) in (None, (0, GENESIS_HASH))


def test_many_records_in_one_transaction(engine, session_factory):
    write(session_factory, 250, per_transaction=250)
    assert seqs(engine) == list(range(1, 251))
    report = service.verify(engine, batch_size=64)
    assert report.ok
    assert report.checked == 250


def test_missing_head_row_is_recreated(engine, session_factory):
    tamper(engine, "DELETE FROM audit_chain_head")
    write(session_factory, 2)
    assert seqs(engine) == [1, 2]
    assert service.verify(engine).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Ledger.Post", "target_type": "t"}, "action"),
        ({"action": "a" * 65, "target_type": "t"}, "action"),
        ({"action": "a.b", "target_type": "bad type"}, "target_type"),
        ({"action": "a.b", "target_type": "t", "target_id": "x" * 129}, "target id"),
        ({"action": "a.b", "target_type": "t", "target_id": "a\x00b"}, "NUL"),
        ({"action": "a.b", "target_type": "t", "after": {"x": float("inf")}}, "JSON"),
    ],
)
def test_bad_arguments_fail_at_record_not_at_commit(session_factory, kwargs, message):
    with session_factory() as session, pytest.raises(ValueError, match=message):
        service.record(session, CLERK, **kwargs)


def test_counts_only_committed(engine, session_factory):
    with session_factory() as session:
        service.record(session, CLERK, action="a.b", target_type="t")
        # Sealed at commit: not yet visible in the writing transaction itself.
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0
        session.commit()
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 1


def test_without_a_business_date_the_commit_fails_and_writes_nothing(engine, session_factory):
    write(session_factory, 1)
    tamper(engine, "DELETE FROM platform_business_date")
    session = session_factory()
    try:
        service.record(session, CLERK, action="a.b", target_type="t")
        with pytest.raises((RuntimeError, DBAPIError), match="business date"):
            session.commit()
    finally:
        session.close()
    assert seqs(engine) == [1]
