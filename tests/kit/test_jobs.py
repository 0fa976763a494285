"""Background jobs through the outbox: run only after the commit, at least once, retried
with backoff, on in-process threads or through a broker (RabbitMQ and Redis)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import jobs
from lendbridge.kit.broker import BrokerJobs
from lendbridge.kit.db import make_session_factory, unit_of_work
from lendbridge.kit.outbox import OutboxMessage
from tests.conftest import FakeClock

RUNS: list[tuple[str, int]] = []
FAILURES: dict[str, int] = {}
_lock = threading.Lock()


@jobs.job("tests.record")
def _record(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
    tag = str(payload["tag"])
    with _lock:
        if FAILURES.get(tag, 0) > 0:
            FAILURES[tag] -= 1
            raise RuntimeError(f"planned failure of {tag}")
        RUNS.append((tag, ctx.attempt))


@pytest.fixture
def pg_session_factory(pg_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(pg_engine)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()
    FAILURES.clear()


def enqueue(factory: sessionmaker[Session], tag: str, *, commit: bool = True, **kw: Any) -> int:
    session = factory()
    try:
        message_id = jobs.enqueue(session, "tests.record", {"tag": tag}, **kw)
        if commit:
            session.commit()
        else:
            session.rollback()
        return message_id
    finally:
        session.close()


def ran(tag: str) -> list[int]:
    with _lock:
        return [attempt for t, attempt in RUNS if t == tag]


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the job"
        time.sleep(0.02)


def test_a_rolled_back_job_never_runs(session_factory: sessionmaker[Session]) -> None:
    enqueue(session_factory, "ghost", commit=False)
    assert jobs.run_due(session_factory) == 0
    assert ran("ghost") == []


def test_committed_job_runs_once(session_factory: sessionmaker[Session]) -> None:
    message_id = enqueue(session_factory, "once")
    assert jobs.run_due(session_factory) == 1
    assert jobs.run_due(session_factory) == 0
    assert ran("once") == [1]
    assert jobs.run_one(session_factory, message_id) is False  # processed: a duplicate is a no-op


def test_malformed_job_names_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="dotted lower-case"):
        jobs.enqueue(session, "Tests nope", {})


def test_a_job_without_handler_waits_and_says_why(
    session_factory: sessionmaker[Session], time: FakeClock
) -> None:
    with unit_of_work(session_factory) as session:
        message_id = jobs.enqueue(session, "tests.unregistered", {})
    assert jobs.run_due(session_factory) == 1
    with unit_of_work(session_factory) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        assert message.processed_at is None
        assert "no handler registered" in (message.last_error or "")


def test_the_application_registers_every_job_it_sends() -> None:
    from lendbridge.app import JOBS

    assert set(JOBS) <= set(jobs.registered())


def test_failures_are_retried_with_backoff(
    session_factory: sessionmaker[Session], time: FakeClock
) -> None:
    FAILURES["flaky"] = 2
    message_id = enqueue(session_factory, "flaky")
    assert jobs.run_due(session_factory) == 1
    with unit_of_work(session_factory) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        assert message.processed_at is None
        assert "planned failure" in (message.last_error or "")
        wait = message.available_at - time.now
    assert dt.timedelta(seconds=0.5) <= wait <= dt.timedelta(seconds=1)
    assert jobs.run_due(session_factory) == 0  # not due yet
    jobs.drain(session_factory, advance=lambda: time.advance(seconds=5))
    assert ran("flaky") == [3]


def test_a_dead_runner_lease_expires_and_the_job_runs_again(
    session_factory: sessionmaker[Session], time: FakeClock
) -> None:
    enqueue(session_factory, "orphan")
    with unit_of_work(session_factory) as session:
        assert jobs._claim(session, None) is not None  # claimed by a runner that then dies
    assert jobs.run_due(session_factory) == 0
    time.advance(seconds=jobs.LEASE.total_seconds() + 1)
    assert jobs.run_due(session_factory) == 1
    assert ran("orphan") == [2]


def test_delayed_jobs_wait(session_factory: sessionmaker[Session], time: FakeClock) -> None:
    enqueue(session_factory, "later", delay=dt.timedelta(minutes=5))
    assert jobs.run_due(session_factory) == 0
    time.advance(minutes=5)
    assert jobs.run_due(session_factory) == 1


def test_in_process_runner_is_woken_by_the_commit(session_factory: sessionmaker[Session]) -> None:
    with jobs.InProcessRunner(session_factory, threads=2, poll_seconds=30):
        for i in range(20):
            enqueue(session_factory, f"woken-{i}")
        wait_for(lambda: all(ran(f"woken-{i}") for i in range(20)))
    assert sorted(len(ran(f"woken-{i}")) for i in range(20)) == [1] * 20


BROKERS = [
    pytest.param(
        os.environ.get("LENDBRIDGE_TEST_RABBITMQ_URL"),
        id="rabbitmq",
        marks=pytest.mark.skipif(
            not os.environ.get("LENDBRIDGE_TEST_RABBITMQ_URL"),
            reason="LENDBRIDGE_TEST_RABBITMQ_URL is not set: RabbitMQ half not run",
        ),
    ),
    pytest.param(
        os.environ.get("LENDBRIDGE_TEST_REDIS_URL"),
        id="redis",
        marks=pytest.mark.skipif(
            not os.environ.get("LENDBRIDGE_TEST_REDIS_URL"),
            reason="LENDBRIDGE_TEST_REDIS_URL is not set: Redis half not run",
        ),
    ),
]


@pytest.mark.parametrize("url", BROKERS)
def test_jobs_through_a_broker(pg_session_factory: sessionmaker[Session], url: str) -> None:
    broker = BrokerJobs(url, f"lendbridge-test-{uuid.uuid4().hex[:8]}", pg_session_factory)
    broker.start_sending()
    consumer = broker.worker(threads=2)
    consumer.start()
    try:
        for i in range(10):
            enqueue(pg_session_factory, f"brokered-{i}")
        enqueue(pg_session_factory, "rolled-back", commit=False)
        wait_for(lambda: all(ran(f"brokered-{i}") for i in range(10)))
        assert ran("rolled-back") == []

        def all_done() -> bool:  # a job is marked done just after its handler returns
            with unit_of_work(pg_session_factory) as session:
                return not session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.processed_at.is_(None))
                ).all()

        wait_for(all_done)
    finally:
        consumer.stop()
        broker.close()
    assert sorted(len(ran(f"brokered-{i}")) for i in range(10)) == [1] * 10
