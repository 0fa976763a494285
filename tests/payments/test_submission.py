"""Orders through the fake channel: every outcome, the ledger in step at each stage, retries
with backoff, the manual queue, and never a second execution."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from lendbridge.kit import jobs
from lendbridge.kit.db import unit_of_work
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Hold
from lendbridge.payments import check, orders, states, submission
from lendbridge.payments.channels.base import ChannelAnswer, Outcome
from lendbridge.payments.models import OrderKind, OrderStatus, PaymentTransition
from lendbridge.payments.schemas import OrderIn, PartyIn
from tests.payments.conftest import ACTOR, CUSTOMER, INVESTOR, Payments

pytestmark = pytest.mark.usefixtures("payments")


def order_in(
    kind: OrderKind = OrderKind.PAYOUT, amount: int = 10_000, **changes: object
) -> OrderIn:
    values: dict[str, object] = {
        "kind": kind,
        "channel": "sim",
        "account": INVESTOR if kind == OrderKind.PAYOUT else CUSTOMER,
        "amount": amount,
        "currency": "CNY",
        "party": PartyIn(account_number="6222021234567890123", account_name="张三"),
    }
    if kind == OrderKind.COLLECTION:
        values["authorisation_ref"] = "mandate-1"
    values.update(changes)
    return OrderIn.model_validate(values)


def create(p: Payments, request: OrderIn | None = None, key: str | None = None) -> uuid.UUID:
    with unit_of_work(p.factory) as session:
        out, _ = orders.create_order(
            session, request or order_in(), idempotency_key=key or uuid.uuid4().hex, actor=ACTOR
        )
    return out.id


def run_jobs(p: Payments) -> int:
    """Run every job, moving the clock an hour whenever none is due (retries, queries)."""
    return jobs.drain(p.factory, rounds=50, advance=lambda: p.clock.advance(hours=1))


def status_of(p: Payments, order_id: uuid.UUID) -> orders.OrderDetailOut:
    with unit_of_work(p.factory) as session:
        return orders.get_order(session, order_id)


def balances(p: Payments, code: str) -> tuple[int, int]:
    with unit_of_work(p.factory) as session:
        b = ledger.balance(session, code)
    return b.balance, b.available


def consistent(p: Payments) -> None:
    with unit_of_work(p.factory) as session:
        assert check.consistency(session) == []


def test_payout_succeeds_hold_then_posting(payments: Payments) -> None:
    order_id = create(payments)
    assert status_of(payments, order_id).status == OrderStatus.CREATED
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)
    assert run_jobs(payments) == 1
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUCCEEDED
    assert [t.to_status for t in detail.transitions] == ["created", "submitted", "succeeded"]
    assert detail.channel_ref is not None
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    assert balances(payments, "3001.001")[0] == -10_000
    assert payments.fake.executions[str(order_id)] == 1
    consistent(payments)


def test_hold_is_in_place_while_the_channel_processes(payments: Payments) -> None:
    payments.fake.will("processing")
    order_id = create(payments)
    jobs.run_due(payments.factory)
    assert status_of(payments, order_id).status == OrderStatus.SUBMITTED
    assert balances(payments, INVESTOR) == (1_000_000, 990_000)  # held, not posted
    consistent(payments)
    payments.fake.finish(str(order_id), Outcome.SUCCEEDED)
    run_jobs(payments)  # the status query finds the outcome
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    consistent(payments)


def test_final_failure_voids_the_hold(payments: Payments) -> None:
    payments.fake.will("INSUFFICIENT_FUNDS")
    order_id = create(payments)
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.FAILED
    assert detail.error_code == "INSUFFICIENT_FUNDS"
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    assert len(payments.fake.requests) == 1  # final: never retried
    consistent(payments)


def test_retryable_failures_are_retried_then_succeed(payments: Payments) -> None:
    payments.fake.will("SYSTEM_BUSY", "SYSTEM_BUSY")
    order_id = create(payments)
    jobs.run_due(payments.factory)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUBMITTED
    assert detail.next_attempt_at is not None
    assert detail.next_attempt_at > payments.clock.now
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUCCEEDED
    assert detail.attempts == 3
    assert payments.fake.executions[str(order_id)] == 1
    consistent(payments)


def test_retries_exhausted_go_to_the_manual_queue(payments: Payments) -> None:
    payments.fake.will("SYSTEM_BUSY", "SYSTEM_BUSY", "SYSTEM_BUSY", "SYSTEM_BUSY")
    order_id = create(payments)
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUBMITTED
    assert detail.manual
    assert detail.attempts == 3
    assert "SYSTEM_BUSY" in (detail.manual_reason or "")
    assert balances(payments, INVESTOR)[1] == 990_000  # still held: outcome is staff's call
    consistent(payments)


def test_timeout_is_settled_by_a_query_never_by_resending(payments: Payments) -> None:
    payments.fake.will("timeout")
    order_id = create(payments)
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUCCEEDED
    assert len(payments.fake.requests) == 1
    assert payments.fake.queries == [str(order_id)]
    assert [a.operation for a in detail.attempt_log] == ["submit", "query"]
    assert detail.attempt_log[0].state == "answered"  # the query settled the lost answer
    consistent(payments)


def test_lost_request_is_resent_after_the_channel_says_not_found(payments: Payments) -> None:
    payments.fake.will("lost")
    order_id = create(payments)
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.SUCCEEDED
    assert len(payments.fake.requests) == 2
    assert payments.fake.executions[str(order_id)] == 1
    consistent(payments)


def test_a_crash_mid_call_is_recovered_by_query(payments: Payments) -> None:
    """The process dies after recording the attempt and before recording the answer: the
    channel executed the order. Later runs query, book it, and never send it again."""
    order_id = create(payments)
    with unit_of_work(payments.factory) as session:
        order = orders.load(session, order_id, lock=True)
        (send,) = submission._prepare_batch(session, [order], payments.clock.now)
    send.adapter.submit(send.request)  # executed at the channel; the answer is lost with us
    assert submission.submit(payments.factory, order_id) == OrderStatus.SUBMITTED  # in flight
    payments.clock.advance(seconds=11)  # twice the channel timeout
    with unit_of_work(payments.factory) as session:
        assert submission.recover(session) == 1
    run_jobs(payments)
    assert status_of(payments, order_id).status == OrderStatus.SUCCEEDED
    assert len(payments.fake.requests) == 1
    assert payments.fake.executions[str(order_id)] == 1
    consistent(payments)


def test_collection_posts_on_success_only(payments: Payments) -> None:
    payments.fake.will("processing")
    order_id = create(payments, order_in(OrderKind.COLLECTION, 25_000))
    jobs.run_due(payments.factory)
    assert balances(payments, CUSTOMER) == (0, 0)  # nothing of ours moves before success
    payments.fake.finish(str(order_id), Outcome.SUCCEEDED)
    run_jobs(payments)
    assert balances(payments, CUSTOMER) == (25_000, 25_000)
    assert balances(payments, "3001.001")[0] == 25_000
    consistent(payments)


def test_reversal_after_success_posts_a_reversal(payments: Payments) -> None:
    order_id = create(payments)
    run_jobs(payments)
    with unit_of_work(payments.factory) as session:
        effect = submission.apply_answer(
            session,
            order_id,
            answer(order_id, Outcome.REVERSED),
            attempt=None,
            source="callback",
        )
    assert effect == "reversed"
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.REVERSED
    assert detail.reversal_entry_id is not None
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def test_reversed_collection_already_spent_goes_to_suspense(payments: Payments) -> None:
    order_id = create(payments, order_in(OrderKind.COLLECTION, 25_000))
    run_jobs(payments)
    # The collected money was applied elsewhere: the customer balance is empty again.
    spend = order_in(OrderKind.REFUND, 25_000)
    create(payments, spend)
    run_jobs(payments)
    assert balances(payments, CUSTOMER) == (0, 0)
    with unit_of_work(payments.factory) as session:
        submission.apply_answer(
            session,
            order_id,
            answer(order_id, Outcome.REVERSED),
            attempt=None,
            source="callback",
        )
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.REVERSED
    assert detail.manual
    assert "suspense" in (detail.manual_reason or "")
    assert balances(payments, "1901.001")[0] == 25_000
    consistent(payments)


def test_late_and_repeated_answers_change_nothing(payments: Payments) -> None:
    order_id = create(payments)
    run_jobs(payments)
    for outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.FAILED, Outcome.SUCCEEDED):
        with unit_of_work(payments.factory) as session:
            effect = submission.apply_answer(
                session,
                order_id,
                answer(order_id, outcome),
                attempt=None,
                source="callback",
            )
        assert effect == "no effect"
    with unit_of_work(payments.factory) as session:
        count = session.scalar(
            select(func.count())
            .select_from(PaymentTransition)
            .where(PaymentTransition.order_id == order_id)
        )
    assert count == 3
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    consistent(payments)


def test_ledger_refusal_fails_the_order_before_sending(payments: Payments) -> None:
    order_id = create(payments, order_in(amount=2_000_000))  # more than the investor has
    run_jobs(payments)
    detail = status_of(payments, order_id)
    assert detail.status == OrderStatus.FAILED
    assert detail.error_code == "LEDGER_REFUSED"
    assert payments.fake.requests == []
    with unit_of_work(payments.factory) as session:
        assert session.scalar(select(func.count()).select_from(Hold)) == 0
    consistent(payments)


def test_illegal_transitions_are_refused() -> None:
    s = OrderStatus
    with pytest.raises(states.IllegalTransition, match="from failed to succeeded"):
        states.check(s.FAILED, s.SUCCEEDED)
    with pytest.raises(states.IllegalTransition):
        states.check(s.CREATED, s.SUCCEEDED)
    with pytest.raises(states.IllegalTransition):
        states.check(s.REVERSED, s.SUBMITTED)
    states.check(s.SUCCEEDED, s.REVERSED)


def answer(order_id: uuid.UUID, outcome: Outcome) -> ChannelAnswer:
    return ChannelAnswer(str(order_id), outcome)
