"""Races with real threads on PostgreSQL row locks: balance limits hold, holds resolve once,
an idempotency key books once, and opposite transfers never deadlock."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.kit.db import make_session_factory, unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.ledger import service
from lendbridge.ledger.models import Entry
from lendbridge.ledger.schemas import HoldIn, HoldPostIn
from tests.ledger import factories as f

pytestmark = pytest.mark.postgres_only


def race(workers: int, tasks: list[Callable[[], object]]) -> Counter[str]:
    """Run the tasks on ``workers`` threads released together; count outcomes by type."""
    barrier = threading.Barrier(min(workers, len(tasks)))

    def run(task: Callable[[], object]) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            task()
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(workers) as pool:
        return Counter(pool.map(run, tasks))


@pytest.fixture
def factory(pg_engine):
    with Session(pg_engine) as session:
        f.basic_chart(session)
        f.transfer(session, "bank", "wallet", 5_000)
        session.commit()
    return make_session_factory(pg_engine)


def test_concurrent_debits_never_overdraw(factory):
    def debit() -> None:
        with unit_of_work(factory) as session:
            f.transfer(session, "wallet", "income", 100, key=str(uuid.uuid4()))

    outcome = race(16, [debit] * 80)
    assert outcome == {"ok": 50, "ledger.balance_limit_exceeded": 30}
    with factory() as session:
        assert service.balance(session, "wallet").balance == 0
        assert service.balance(session, "income").balance == 5_000


def test_one_idempotency_key_books_once_under_concurrency(factory):
    def pay() -> None:
        with unit_of_work(factory) as session:
            f.transfer(session, "bank", "wallet", 7, key="same-key")

    outcome = race(8, [pay] * 16)
    # Every caller either got the booked entry back or was told to retry; one entry exists.
    assert set(outcome) <= {"ok", "concurrent_request"}
    with factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Entry).where(Entry.idempotency_key == "same-key")
            )
            == 1
        )
        assert service.balance(session, "wallet").balance == 5_007


def test_opposite_transfers_do_not_deadlock(factory):
    with unit_of_work(factory) as session:
        f.account(session, "a", f.AccountType.LIABILITY)
        f.account(session, "b", f.AccountType.LIABILITY)

    def move(debit: str, credit: str) -> Callable[[], None]:
        def task() -> None:
            with unit_of_work(factory) as session:
                f.transfer(session, debit, credit, 1)

        return task

    outcome = race(8, [move("a", "b"), move("b", "a")] * 40)
    assert outcome == {"ok": 80}


def test_a_hold_is_posted_at_most_once_under_concurrency(factory):
    with unit_of_work(factory) as session:
        hold = service.place_hold(
            session,
            HoldIn(debit_account="wallet", credit_account="income", amount=1_000, currency="CNY"),
        )

    def post(amount: int) -> Callable[[], None]:
        def task() -> None:
            with unit_of_work(factory) as session:
                service.post_hold(session, hold.id, HoldPostIn(amount=amount))

        return task

    def void() -> None:
        with unit_of_work(factory) as session:
            service.void_hold(session, hold.id)

    outcome = race(8, [post(100 + i) for i in range(6)] + [void, void])
    assert outcome["ok"] >= 1
    with factory() as session:
        final = service.get_hold(session, hold.id)
        entries = session.scalar(
            select(func.count()).select_from(Entry).where(Entry.hold_id == hold.id)
        )
        wallet = service.balance(session, "wallet")
    assert wallet.debits_pending == 0
    if final.status == "posted":
        assert entries == 1
        assert wallet.balance == 5_000 - final.posted_amount
        assert outcome["ok"] == 1
    else:
        assert final.status == "voided"
        assert entries == 0
        assert wallet.balance == 5_000
        assert outcome["ok"] == 2  # the second void is a harmless repeat
