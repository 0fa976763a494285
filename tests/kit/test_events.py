"""Domain events: recorded in the outbox and delivered to each interested subscriber as a
job after the commit, at least once; nothing for a rolled-back transaction or an event a
subscriber's filter declines."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import events, jobs
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.outbox import OutboxMessage

SEEN: list[tuple[str, str, dict[str, Any]]] = []
FAIL_ONCE: set[str] = set()
_lock = threading.Lock()


@events.subscribe("tests.thing.done", "tests.thing.undone", name="tests.events_a")
def _a(ctx: jobs.JobContext, topic: str, payload: dict[str, Any]) -> None:
    with _lock:
        if payload["id"] in FAIL_ONCE:
            FAIL_ONCE.discard(payload["id"])
            raise RuntimeError("planned failure")
        SEEN.append(("a", topic, payload))


@events.subscribe(
    "tests.thing.done", name="tests.events_b", when=lambda payload: payload.get("big") is True
)
def _b(ctx: jobs.JobContext, topic: str, payload: dict[str, Any]) -> None:
    with _lock:
        SEEN.append(("b", topic, payload))


@pytest.fixture(autouse=True)
def _clean() -> None:
    SEEN.clear()
    FAIL_ONCE.clear()


def emit(factory: sessionmaker[Session], topic: str, **payload: Any) -> None:
    with unit_of_work(factory) as session:
        events.emit(session, topic, payload)


def outbox_rows(factory: sessionmaker[Session], topic: str) -> int:
    with unit_of_work(factory) as session:
        return int(session.scalar(select(func.count()).where(OutboxMessage.topic == topic)) or 0)


def test_each_interested_subscriber_gets_the_event_after_the_commit(
    session_factory: sessionmaker[Session],
) -> None:
    emit(session_factory, "tests.thing.done", id="1", big=True)
    emit(session_factory, "tests.thing.done", id="2", big=False)
    emit(session_factory, "tests.thing.undone", id="3")
    assert SEEN == []  # nothing runs inside the transaction
    jobs.drain(session_factory)
    assert sorted((who, topic, p["id"]) for who, topic, p in SEEN) == [
        ("a", "tests.thing.done", "1"),
        ("a", "tests.thing.done", "2"),
        ("a", "tests.thing.undone", "3"),
        ("b", "tests.thing.done", "1"),
    ]
    assert outbox_rows(session_factory, "tests.thing.done") == 2  # the record of the event


def test_a_rolled_back_event_reaches_nobody(session_factory: sessionmaker[Session]) -> None:
    def failing_change() -> None:
        with unit_of_work(session_factory) as session:
            events.emit(session, "tests.thing.done", {"id": "9", "big": True})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    jobs.drain(session_factory)
    assert SEEN == []
    assert outbox_rows(session_factory, "tests.thing.done") == 0


def test_a_failing_subscriber_gets_the_event_again_and_alone(
    session_factory: sessionmaker[Session], time: Any
) -> None:
    FAIL_ONCE.add("5")
    emit(session_factory, "tests.thing.done", id="5", big=True)
    jobs.drain(session_factory, advance=lambda: time.advance(minutes=1))
    assert sorted(who for who, _, _ in SEEN) == ["a", "b"]  # b once, a after its retry


def test_subscribers_are_listed_by_topic() -> None:
    assert [s.name for s in events.subscribers("tests.thing.done")] == [
        "tests.events_a",
        "tests.events_b",
    ]
    assert events.subscribers("tests.nothing") == []
