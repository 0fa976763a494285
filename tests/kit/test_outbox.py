"""The transactional outbox: a message exists only if its transaction committed, is delivered
once, is retried with backoff when its handler fails, and concurrent dispatchers on
PostgreSQL never deliver the same message twice."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.kit import outbox
from lendbridge.kit.db import make_session_factory
from lendbridge.kit.outbox import OutboxMessage
from tests.conftest import FakeClock


def test_only_committed_messages_are_delivered_once(engine: Engine, time: FakeClock) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        outbox.publish(session, "loan.disbursed", {"loan": "L1"})
        session.rollback()
    with factory() as session:
        outbox.publish(session, "loan.disbursed", {"loan": "L2"})
        session.commit()
    seen: list[dict[str, Any]] = []
    report = outbox.dispatch(factory, {"loan.disbursed": lambda s, p: seen.append(p)})
    assert seen == [{"loan": "L2"}]
    assert report.delivered == 1
    assert outbox.dispatch(factory, {"loan.disbursed": lambda s, p: seen.append(p)}).delivered == 0


def test_a_failing_handler_is_retried_with_backoff_and_its_writes_undone(
    engine: Engine, time: FakeClock
) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        outbox.publish(session, "payments.retry", {"order": "P1"})
        session.commit()
    calls: list[int] = []

    def flaky(session: Session, payload: dict[str, Any]) -> None:
        calls.append(1)
        outbox.publish(session, "side.effect", {"from": payload["order"]})  # must not survive
        if len(calls) < 3:
            raise RuntimeError("channel busy")

    handlers = {"payments.retry": flaky}
    assert outbox.dispatch(factory, handlers).failed == 1
    assert outbox.dispatch(factory, handlers).delivered == 0  # not due yet (1 s backoff)
    time.now += dt.timedelta(seconds=1)
    assert outbox.dispatch(factory, handlers).failed == 1
    time.now += dt.timedelta(seconds=2)
    report = outbox.dispatch(factory, handlers)
    assert report.delivered == 1
    assert report.unhandled_topics == {"side.effect"}  # only the successful run's message
    with factory() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "payments.retry")
        ).one()
        assert message.attempts == 2
        assert message.last_error == "RuntimeError: channel busy"
        assert message.processed_at == time.now
        assert session.scalar(select(func.count()).where(OutboxMessage.topic == "side.effect")) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert outbox.backoff(40) == outbox.MAX_BACKOFF


@pytest.mark.postgres_only
def test_concurrent_dispatchers_deliver_each_message_exactly_once(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    with factory() as session:
        for i in range(200):
            outbox.publish(session, "t", {"n": i})
        session.commit()
    delivered: list[int] = []
    lock = threading.Lock()

    def handle(session: Session, payload: dict[str, Any]) -> None:
        with lock:
            delivered.append(payload["n"])

    threads = [
        threading.Thread(
            target=outbox.dispatch, args=(factory, {"t": handle}), kwargs={"limit": 200}
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delivered) == list(range(200))
