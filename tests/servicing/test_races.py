"""Races with real threads on PostgreSQL: one idempotency key makes one loan and one repayment
however many requests carry it at once, and a payment outcome delivered to several runners at
once is applied to the loan exactly once."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from lendbridge.kit import jobs
from lendbridge.kit.errors import DomainError
from lendbridge.kit.outbox import OutboxMessage
from lendbridge.payments import orders
from lendbridge.servicing import loans, repayments, subscribers
from lendbridge.servicing.loan_schemas import LoanIn, RepaymentIn
from lendbridge.servicing.models import Loan, LoanRepayment, LoanTransaction
from tests.servicing.conftest import ACTOR, Book
from tests.servicing.test_repayments import FEB_15, FIRST

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock races need PostgreSQL")


def race(workers: int, tasks: list[Callable[[], object]]) -> Counter[str]:
    barrier = threading.Barrier(min(workers, len(tasks)))

    def run(task: Callable[[], object]) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            result = task()
            return str(result) if isinstance(result, str) else "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(workers) as pool:
        return Counter(pool.map(run, tasks))


def count(book: Book, model: type) -> int:
    return int(book.run(lambda s: s.scalar(select(func.count()).select_from(model))) or 0)


def test_one_key_one_loan(book: Book) -> None:
    body = LoanIn(customer_id=book.customer(), product_code="LOAN-EI", amount=5_000_00, term=6)

    def create() -> object:
        return book.run(lambda s: loans.create_loan(s, body, idempotency_key="same", actor=ACTOR))

    outcome = race(8, [create] * 8)
    assert set(outcome) <= {"ok", "concurrent_request"}
    assert outcome["ok"] >= 1
    assert count(book, Loan) == 1
    book.check()


def test_one_key_one_repayment(book: Book) -> None:
    loan = book.disburse(book.create(book.customer()).id)
    body = RepaymentIn(channel="sim", amount=100_00)

    def ask() -> object:
        return book.run(
            lambda s: repayments.request_repayment(
                s, loan.id, body, idempotency_key="same", actor=ACTOR
            )
        )

    outcome = race(8, [ask] * 8)
    assert set(outcome) <= {"ok", "concurrent_request"}
    assert count(book, LoanRepayment) == 1
    book.drain()
    book.check()


def test_an_outcome_delivered_at_once_to_many_runners_is_applied_once(book: Book) -> None:
    loan = book.disburse(book.create(book.customer()).id)
    book.set_date(FEB_15)
    repayment = book.repay(loan.id, FIRST, drain=False)
    send = book.run(
        lambda s: s.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.topic == "job.payments.send_due", OutboxMessage.processed_at.is_(None)
            )
        )
    )
    assert jobs.run_one(book.factory, send)  # the order succeeds; the loans job waits
    order = book.run(lambda s: orders.get_order(s, repayment.order_id))
    assert order.status == "succeeded"
    payload = {
        "order_id": str(order.id),
        "event_type": "loan.repayment",
        "event_id": str(repayment.id),
    }

    def deliver() -> object:
        return book.run(lambda s: subscribers.handle(s, payload))

    outcome = race(8, [deliver] * 8)
    assert outcome["applied"] == 1
    assert sum(n for effect, n in outcome.items() if effect.startswith("ignored")) == 7
    book.drain()  # the real job runs too: nothing more
    applied = book.repayment(loan.id, repayment.id)
    assert (applied.status, applied.applied) == ("applied", FIRST)
    repaid = book.run(
        lambda s: s.scalar(
            select(func.count()).where(
                LoanTransaction.loan_id == loan.id, LoanTransaction.kind == "repayment"
            )
        )
    )
    assert repaid == 1
    assert book.balance(loan.customer_account) == 0
    book.check()


def test_unknown_repayment_outcome_is_ignored(book: Book) -> None:
    payload = {
        "order_id": str(uuid.uuid4()),
        "event_type": "loan.repayment",
        "event_id": str(uuid.uuid4()),
    }
    assert book.run(lambda s: subscribers.handle(s, payload)).startswith("ignored")
