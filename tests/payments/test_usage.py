"""A channel's daily limit, kept as a counter per channel and business date: orders add their
amounts when created, failed orders give them back, a refusal or a rollback counts nothing,
concurrent creators never overrun it together, and the payments check proves the counters
equal the orders."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import select, update

from lendbridge.kit import calendar
from lendbridge.kit.db import unit_of_work
from lendbridge.payments import channel_config, check, orders
from lendbridge.payments.models import OrderStatus, PaymentChannelUsage
from tests.payments.conftest import ACTOR, Payments, channel_request
from tests.payments.test_submission import consistent, create, order_in, run_jobs, status_of

pytestmark = pytest.mark.usefixtures("payments")


def limit_to(p: Payments, daily: int) -> None:
    with unit_of_work(p.factory) as session:
        channel_config.save_channel(session, channel_request(daily_limit=daily), ACTOR)


def used(p: Payments) -> dict[dt.date, int]:
    with unit_of_work(p.factory) as session:
        rows = session.scalars(
            select(PaymentChannelUsage).where(PaymentChannelUsage.channel == "sim")
        )
        return {row.business_date: row.used for row in rows}


def today(p: Payments) -> dt.date:
    with unit_of_work(p.factory) as session:
        return calendar.business_date(session)


def test_a_failed_order_gives_its_amount_back(payments: Payments) -> None:
    limit_to(payments, 25_000)
    payments.fake.will("INSUFFICIENT_FUNDS")
    failed = create(payments)
    create(payments)
    with pytest.raises(orders.LimitExceeded) as refused:
        create(payments)
    assert "15000 already used" not in refused.value.detail
    assert "20000 already used" in refused.value.detail
    run_jobs(payments)
    assert status_of(payments, failed).status == OrderStatus.FAILED
    assert used(payments) == {today(payments): 10_000}
    create(payments)  # the failed order's 10,000 is free again
    assert used(payments) == {today(payments): 20_000}
    consistent(payments)


def test_a_refused_batch_counts_nothing_and_names_the_order(payments: Payments) -> None:
    limit_to(payments, 25_000)
    create(payments)
    batch = [
        (order_in(amount=5_000), uuid.uuid4().hex),
        (order_in(amount=15_000), uuid.uuid4().hex),
    ]
    with pytest.raises(orders.LimitExceeded) as refused, unit_of_work(payments.factory) as session:
        orders.create_orders(session, batch, actor=ACTOR)
    assert [e.field for e in refused.value.errors] == ["orders.1.amount"]
    assert used(payments) == {today(payments): 10_000}
    with unit_of_work(payments.factory) as session:  # what fits goes through
        orders.create_orders(session, batch[:1], actor=ACTOR)
    assert used(payments) == {today(payments): 15_000}
    consistent(payments)


def test_each_business_date_has_its_own_limit(payments: Payments) -> None:
    limit_to(payments, 10_000)
    create(payments)
    first = today(payments)
    with unit_of_work(payments.factory) as session:
        calendar.set_business_date(session, first + dt.timedelta(days=1))
    create(payments)
    assert used(payments) == {first: 10_000, first + dt.timedelta(days=1): 10_000}
    consistent(payments)


def test_concurrent_creators_never_overrun_the_limit(payments: Payments) -> None:
    limit_to(payments, 50_000)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            create(payments)
            outcome = "created"
        except orders.LimitExceeded:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] * 5 + ["refused"] * 7
    assert used(payments) == {today(payments): 50_000}
    consistent(payments)


def test_the_check_finds_a_counter_that_disagrees_with_the_orders(payments: Payments) -> None:
    create(payments)
    with unit_of_work(payments.factory) as session:
        session.execute(update(PaymentChannelUsage).values(used=PaymentChannelUsage.used + 1))
    with unit_of_work(payments.factory) as session:
        findings = check.consistency(session)
    assert [f.problem for f in findings] == ["daily-limit usage 10001, orders that count 10000"]
