"""Callbacks that overtake the answer to their send: most channels call back before (or while)
the synchronous answer reaches the sender. Such a callback is kept and applied by the sender
in its batch, and never lost: a callback that says more than the answer (a success after
"processing", a reversal) still takes effect, and one whose sender died takes effect by
itself or through the status query."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lendbridge.kit import clock, jobs
from lendbridge.kit.db import unit_of_work
from lendbridge.payments import callbacks, submission
from lendbridge.payments.channels.base import ChannelAnswer, ChannelRequest, Outcome
from lendbridge.payments.models import (
    AttemptState,
    OrderStatus,
    PaymentAttempt,
    PaymentCallback,
    PaymentOrder,
)
from tests.payments.conftest import INVESTOR, Payments
from tests.payments.test_manual_settlement import callback
from tests.payments.test_submission import balances, consistent, create, run_jobs, status_of

pytestmark = pytest.mark.usefixtures("payments")


def overtake(p: Payments, *statuses: str) -> list[str]:
    """Deliver these callbacks while each send is in flight; returns their effects."""
    effects: list[str] = []

    def deliver(request: ChannelRequest, answer: ChannelAnswer) -> None:
        del answer
        for status in statuses:
            effects.append(callback(p, request.order_no, status).effect)

    p.fake.before_answer = deliver
    return effects


def effects_of(p: Payments, order_id: uuid.UUID) -> list[str]:
    with unit_of_work(p.factory) as session:
        return list(
            session.scalars(
                select(PaymentCallback.effect)
                .where(PaymentCallback.order_id == order_id)
                .order_by(PaymentCallback.id)
            )
        )


def test_a_success_callback_during_the_send_is_booked_once_by_the_sender(
    payments: Payments,
) -> None:
    effects = overtake(payments, "succeeded", "succeeded")
    order_id = create(payments)
    run_jobs(payments)
    assert effects == [submission.DEFERRED, submission.DEFERRED]
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUCCEEDED
    assert [t.to_status for t in detail.transitions] == ["created", "submitted", "succeeded"]
    assert effects_of(payments, order_id) == ["no effect"]  # the copy is a duplicate
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    consistent(payments)


def test_a_callback_that_says_more_than_the_answer_takes_effect(payments: Payments) -> None:
    payments.fake.will("processing")
    overtake(payments, "succeeded")
    order_id = create(payments)
    run_jobs(payments)
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    assert effects_of(payments, order_id) == ["succeeded"]
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    consistent(payments)


def test_a_reversal_that_arrives_first_reverses_the_order(payments: Payments) -> None:
    overtake(payments, "reversed", "succeeded")
    order_id = create(payments)
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.REVERSED
    assert effects_of(payments, order_id) == ["reversed", "no effect"]
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def test_a_final_failure_callback_behind_a_processing_answer_fails_the_order(
    payments: Payments,
) -> None:
    payments.fake.will("processing")
    effects: list[str] = []

    def deliver(request: ChannelRequest, answer: ChannelAnswer) -> None:
        del answer
        effects.append(callback_with_code(payments, request.order_no, "INSUFFICIENT_FUNDS").effect)

    payments.fake.before_answer = deliver
    order_id = create(payments)
    run_jobs(payments)
    assert effects == [submission.DEFERRED]
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.FAILED
    assert detail.error_code == "INSUFFICIENT_FUNDS"
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def callback_with_code(p: Payments, order_no: str, code: str) -> callbacks.CallbackResult:
    body = json.dumps({"order_no": order_no, "status": "failed", "error_code": code}).encode()
    with unit_of_work(p.factory) as session:
        return callbacks.handle(session, "sim", {"x-signature": "good"}, body)


def test_a_callback_behind_a_lost_answer_settles_the_order_in_the_batch(
    payments: Payments,
) -> None:
    payments.fake.will("timeout")
    overtake(payments, "succeeded")
    order_id = create(payments)
    jobs.run_due(payments.factory)
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    assert effects_of(payments, order_id) == ["succeeded"]
    run_jobs(payments)  # the status query that follows a lost answer finds nothing to do
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    consistent(payments)


def test_a_callback_deferred_to_a_sender_that_died_is_applied_with_the_status_query(
    payments: Payments,
) -> None:
    order_id = create(payments)
    dead_send(payments, order_id)
    payments.fake.known[str(order_id)] = Outcome.PROCESSING  # the channel has it, unfinished
    assert callback(payments, order_id, "succeeded").effect == submission.DEFERRED
    payments.clock.advance(seconds=11)  # past the watchdog: the next sender queries
    run_jobs(payments)
    assert payments.fake.queries == [str(order_id)]
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    assert effects_of(payments, order_id) == ["succeeded"]
    assert payments.fake.executions[str(order_id)] == 0  # never sent again
    consistent(payments)


def dead_send(p: Payments, order_id: uuid.UUID) -> None:
    """Record a send as a sender that is killed before the channel answers would."""
    with unit_of_work(p.factory) as session:
        order = session.get(PaymentOrder, order_id)
        assert order is not None
        assert len(submission._prepare_batch(session, [order], clock.now())) == 1


def test_a_callback_for_a_send_past_its_watchdog_applies_at_once(payments: Payments) -> None:
    """The sender died mid-call long ago: nobody will book its answer, the callback does."""
    order_id = create(payments)
    dead_send(payments, order_id)
    payments.clock.advance(seconds=11)  # the channel's timeout is 5 s: the watchdog is 10 s
    result = callback(payments, order_id, "succeeded")
    assert result.effect == "succeeded"
    with unit_of_work(payments.factory) as session:
        attempt = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order_id)
        ).one()
        assert attempt.state == AttemptState.SENDING  # the dead sender's send, unanswered
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    consistent(payments)


def test_a_reversal_deferred_to_a_dead_sender_follows_the_success_callback(
    payments: Payments,
) -> None:
    """Reversal first, while the send looked in flight; the success callback comes after the
    watchdog time and settles the order: the reversal it had to wait for applies with it."""
    order_id = create(payments)
    dead_send(payments, order_id)
    assert callback(payments, order_id, "reversed").effect == submission.DEFERRED
    payments.clock.advance(seconds=11)
    assert callback(payments, order_id, "succeeded").effect == "succeeded"
    assert status_of(payments, order_id).status == OrderStatus.REVERSED
    assert effects_of(payments, order_id) == ["reversed", "succeeded"]
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def test_a_reversal_that_waited_for_the_senders_booking_reverses_the_order(
    payments: Payments, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reversal arrives while the sender books the success (the order row locked): it
    waits for the lock, and must then see that the send is answered. On PostgreSQL its
    statement's snapshot predates the sender's commit, so the send still looked in flight and
    the reversal was deferred to a sender that had already finished: lost."""
    results: list[callbacks.CallbackResult] = []
    errors: list[BaseException] = []
    original = submission.apply_deferred
    started: list[threading.Thread] = []

    def deliver(order_id: uuid.UUID) -> None:
        try:
            results.append(callback(payments, order_id, "reversed"))
        except BaseException as error:  # reported by the test thread below
            errors.append(error)

    def booking_with_a_waiting_callback(session: Session, ids: list[uuid.UUID]) -> None:
        if not started:  # the sender's booking transaction, order rows locked
            thread = threading.Thread(target=deliver, args=(ids[0],))
            started.append(thread)
            thread.start()
            wait_until_blocked(session, thread)
        original(session, ids)

    monkeypatch.setattr(submission, "apply_deferred", booking_with_a_waiting_callback)
    order_id = create(payments)
    run_jobs(payments)
    started[0].join(timeout=30)
    assert not errors, errors
    assert [r.effect for r in results] == ["reversed"]
    assert status_of(payments, order_id).status == OrderStatus.REVERSED
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def wait_until_blocked(session: Session, thread: threading.Thread) -> None:
    """Until the callback's transaction waits for a lock this session holds (PostgreSQL), or
    a moment (SQLite: it waits for the database's write lock, nothing to observe)."""
    if session.get_bind().dialect.name != "postgresql":
        time.sleep(0.3)
        return
    me = session.scalar(text("SELECT pg_backend_pid()"))
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        with session.get_bind().connect() as conn:  # type: ignore[union-attr]
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"
                ),
                {"me": me},
            )
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the callback never waited for the sender's lock")
