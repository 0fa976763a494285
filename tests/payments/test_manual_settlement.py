"""The manual queue, callbacks, limits and daily settlement, on the fake channel."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from lendbridge.kit import calendar, jobs
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import Conflict, IdempotencyConflict, ValidationFailed
from lendbridge.payments import callbacks, manual, orders, settlement
from lendbridge.payments.channels.base import Outcome
from lendbridge.payments.models import (
    ManualAction,
    OrderKind,
    OrderStatus,
    PaymentCallback,
    PaymentOrder,
)
from lendbridge.payments.schemas import ManualIn
from tests.payments.conftest import ACTOR, INVESTOR, Payments
from tests.payments.test_submission import (
    balances,
    consistent,
    create,
    order_in,
    run_jobs,
    status_of,
)

pytestmark = pytest.mark.usefixtures("payments")
STAFF = Actor(user_id="staff-1", roles=("finance",))


def queued(p: Payments) -> PaymentOrder:
    p.fake.will(*["SYSTEM_BUSY"] * 3)
    order_id = create(p)
    run_jobs(p)
    with unit_of_work(p.factory) as session:
        order = orders.load(session, order_id)
    assert order.manual
    return order


def test_retry_from_the_manual_queue_gets_a_fresh_budget(payments: Payments) -> None:
    order = queued(payments)
    out = manual.act(
        payments.factory, order.id, ManualIn(action=ManualAction.RETRY, note="bank is back"), STAFF
    )
    assert not out.manual
    assert out.notes[0].note == "bank is back"
    run_jobs(payments)
    assert status_of(payments, order.id).status == OrderStatus.SUCCEEDED
    consistent(payments)


def test_cancel_asks_the_channel_first(payments: Payments) -> None:
    order = queued(payments)
    out = manual.act(
        payments.factory,
        order.id,
        ManualIn(action=ManualAction.CANCEL, note="customer asked"),
        STAFF,
    )
    assert out.status == OrderStatus.FAILED
    assert payments.fake.queries == [str(order.id)]
    assert balances(payments, INVESTOR) == (1_000_000, 1_000_000)
    consistent(payments)


def test_cancel_is_refused_when_the_channel_executed_it(payments: Payments) -> None:
    order = queued(payments)
    payments.fake.finish(str(order.id), Outcome.SUCCEEDED)
    with pytest.raises(manual.ChannelExecuted):
        manual.act(
            payments.factory, order.id, ManualIn(action=ManualAction.CANCEL, note="x"), STAFF
        )
    assert status_of(payments, order.id).status == OrderStatus.SUCCEEDED  # booked, not lost
    consistent(payments)


def test_resolve_records_what_staff_established(payments: Payments) -> None:
    order = queued(payments)
    out = manual.act(
        payments.factory,
        order.id,
        ManualIn(
            action=ManualAction.RESOLVE, note="bank confirms paid", outcome=OrderStatus.SUCCEEDED
        ),
        STAFF,
    )
    assert out.status == OrderStatus.SUCCEEDED
    assert out.transitions[-1].actor == "staff-1"
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    consistent(payments)


def test_only_queued_orders_take_retry_or_resolve(payments: Payments) -> None:
    order_id = create(payments)
    run_jobs(payments)
    with pytest.raises(manual.NotInManualQueue):
        manual.act(payments.factory, order_id, ManualIn(action=ManualAction.RETRY, note="x"), STAFF)
    with pytest.raises(ValueError, match="outcome"):
        ManualIn(action=ManualAction.RESOLVE, note="x")


def callback(
    p: Payments, order_id: object, status: str, signature: str = "good"
) -> callbacks.CallbackResult:
    body = json.dumps({"order_no": str(order_id), "status": status}).encode()
    with unit_of_work(p.factory) as session:
        return callbacks.handle(session, "sim", {"x-signature": signature}, body)


def test_callbacks_apply_once_and_reject_bad_signatures(payments: Payments) -> None:
    payments.fake.will("processing")
    order_id = create(payments)
    jobs.run_due(payments.factory)
    with pytest.raises(callbacks.CallbackRefused):
        callback(payments, order_id, "succeeded", signature="forged")
    assert status_of(payments, order_id).status == OrderStatus.SUBMITTED
    first = callback(payments, order_id, "succeeded")
    again = callback(payments, order_id, "succeeded")
    late = callback(payments, order_id, "processing")
    assert (first.duplicate, first.effect) == (False, "succeeded")
    assert again.duplicate
    assert again.effect == "succeeded"
    assert late.effect == "no effect"
    assert balances(payments, INVESTOR) == (990_000, 990_000)
    with unit_of_work(payments.factory) as session:
        assert session.scalar(select(func.count()).select_from(PaymentCallback)) == 2
    consistent(payments)


def test_callback_for_an_unknown_order_is_kept(payments: Payments) -> None:
    result = callback(payments, "not-an-order", "succeeded")
    assert result.effect.startswith("unknown order")


def test_idempotent_creation(payments: Payments) -> None:
    first = create(payments, key="k-1")
    assert create(payments, key="k-1") == first
    with pytest.raises(IdempotencyConflict):
        create(payments, order_in(amount=20_000), key="k-1")
    with unit_of_work(payments.factory) as session:
        assert session.scalar(select(func.count()).select_from(PaymentOrder)) == 1
        assert jobs.pending(session) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 5_000_001}, "amount"),
        ({"channel": "nope"}, "channel"),
        ({"account": "9999"}, "account"),
        ({"currency": "USD"}, "currency"),
        ({"account": "3001.001"}, "account"),
    ],
)
def test_bad_orders_are_refused_naming_the_field(
    payments: Payments, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(payments, order_in(**changes))
    assert refused.value.errors[0].field == field
    with unit_of_work(payments.factory) as session:
        assert session.scalar(select(func.count()).select_from(PaymentOrder)) == 0


def test_daily_limit(payments: Payments) -> None:
    with unit_of_work(payments.factory) as session:
        from lendbridge.payments import channel_config
        from tests.payments.conftest import channel_request

        channel_config.save_channel(session, channel_request(daily_limit=25_000), ACTOR)
    create(payments)
    create(payments)
    with pytest.raises(orders.LimitExceeded, match="daily limit"):
        create(payments)


def test_settlement_nets_the_day_and_books_fees(payments: Payments) -> None:
    create(payments, order_in(amount=10_000))
    create(payments, order_in(amount=30_000))
    create(payments, order_in(OrderKind.COLLECTION, 100_000))
    payments.fake.will("ok", "ok", "ok", "INSUFFICIENT_FUNDS")
    failed = create(payments, order_in(amount=5_000))
    run_jobs(payments)
    assert status_of(payments, failed).status == OrderStatus.FAILED
    with unit_of_work(payments.factory) as session:
        day = calendar.business_date(session)
        calendar.set_business_date(session, day + dt.timedelta(days=1))
    with unit_of_work(payments.factory) as session:
        out, created = settlement.settle(session, "sim", None, ACTOR)
    assert created
    assert out.business_date == day
    assert (out.collected, out.collected_count, out.paid, out.paid_count) == (100_000, 1, 40_000, 2)
    assert out.net == 60_000
    # fee: 100 fixed + 10 bp of each executed order, rounded half up
    assert out.fees == (100 + 10) + (100 + 30) + (100 + 100)
    assert balances(payments, "3001.001")[0] == 0  # clearing emptied into the bank
    assert balances(payments, "6421.001")[0] == out.fees
    with unit_of_work(payments.factory) as session:
        again, created_again = settlement.settle(session, "sim", day, ACTOR)
    assert not created_again
    assert again == out


def test_settlement_refuses_when_clearing_moved_otherwise(payments: Payments) -> None:
    from lendbridge.ledger import service as ledger
    from lendbridge.ledger.models import Side
    from lendbridge.ledger.schemas import EntryIn, PostingIn

    create(payments)
    run_jobs(payments)
    with unit_of_work(payments.factory) as session:
        ledger.post_entry(
            session,
            EntryIn(
                postings=[
                    PostingIn(account="3001.001", side=Side.DEBIT, amount=7, currency="CNY"),
                    PostingIn(account="1901.001", side=Side.CREDIT, amount=7, currency="CNY"),
                ]
            ),
        )
        day = calendar.business_date(session)
    with unit_of_work(payments.factory) as session, pytest.raises(settlement.SettlementMismatch):
        settlement.settle(session, "sim", day, ACTOR)


def test_conflict_is_a_domain_error() -> None:
    assert issubclass(manual.ChannelExecuted, Conflict)


def test_batch_creation_is_all_or_nothing_and_names_the_order(payments: Payments) -> None:
    good = [(order_in(amount=1_000 + i), f"b-{i}") for i in range(3)]
    bad = [*good, (order_in(channel="nope"), "b-bad")]
    with unit_of_work(payments.factory) as session, pytest.raises(ValidationFailed) as refused:
        orders.create_orders(session, bad, actor=ACTOR)
    assert refused.value.errors[0].field == "orders.3.channel"
    with unit_of_work(payments.factory) as session:
        assert session.scalar(select(func.count()).select_from(PaymentOrder)) == 0
        made = orders.create_orders(session, good, actor=ACTOR)
        assert [created for _, created in made] == [True] * 3
        assert jobs.pending(session) == 1  # one sending job for the whole batch
    with unit_of_work(payments.factory) as session:
        again = orders.create_orders(session, good, actor=ACTOR)
    assert [o.id for o, _ in again] == [o.id for o, _ in made]
    assert [created for _, created in again] == [False] * 3
    run_jobs(payments)
    assert len(payments.fake.requests) == 3
    consistent(payments)
