"""The loans demo of ``init --demo`` on both databases: on top of the rest of the demo it ends
with a loan in every state and bucket, its history booked by the real close of business over
the past days (a ``cob_run`` per day, accrual, penalty and provision transactions dated on
them) and the payments through the demo channel; the write-off went through maker-checker;
payments, ledger and loan sub-ledger agree; a second load writes nothing. And the load is
skipped, changing nothing, where the date cannot be moved back or the borrowers are missing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.approvals.models import ApprovalRequest
from lendbridge.demo import load_demo
from lendbridge.identity.consents import seed_agreements
from lendbridge.identity.demo import load_identity_demo
from lendbridge.kit import calendar, crypto
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.outbox import OutboxMessage
from lendbridge.ledger.chart import load_chart
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import Entry
from lendbridge.payments import check as payments_check
from lendbridge.payments import runtime
from lendbridge.payments.demo import ORDERS, load_payments_demo
from lendbridge.payments.models import OrderStatus, PaymentOrder
from lendbridge.servicing import check as loans_check
from lendbridge.servicing import demo as loans_demo
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.models import CobRun, CobStatus
from lendbridge.servicing.demo import load_loans_demo
from lendbridge.servicing.demo_plan import DAYS, LOANS
from lendbridge.servicing.models import Loan, LoanRepayment, LoanTransaction
from tests.conftest import TODAY

START = TODAY - dt.timedelta(days=DAYS)
# name: (status, bucket) at the end of the load.
EXPECTED = {
    "current": ("active", "current"),
    "prepaid": ("active", "current"),
    "paid-off": ("paid_off", "current"),
    "paid-to-maturity": ("paid_off", "current"),
    "m3-plus": ("overdue", "M3+"),
    "m3": ("overdue", "M3"),
    "m2": ("overdue", "M2"),
    "m1": ("overdue", "M1"),
    "written-off": ("written_off", "M3+"),
    "pending": ("pending_disbursement", "current"),
    "cancelled": ("cancelled", "current"),
}


@pytest.fixture
def keys() -> Iterator[None]:
    """Personal data (the demo people) under this run's keyring; the payments runtime kept."""
    previous = crypto.configure(Keyring.from_env(os.environ["LENDBRIDGE_MASTER_KEYS"]))
    wiring = runtime._runtime
    yield
    crypto.configure(previous)
    runtime._runtime = wiring


@pytest.fixture
def demo(session_factory: sessionmaker[Session], keys: None) -> sessionmaker[Session]:
    """What ``init --demo`` commits before the loans demo."""
    with unit_of_work(session_factory) as session:
        seed_agreements(session)
        load_chart(session)
        load_identity_demo(session)
        load_demo(session)
        load_payments_demo(session)
    return session_factory


def read(factory: sessionmaker[Session], fn: Any) -> Any:
    with factory() as session:
        return fn(session)


def snapshot(session: Session) -> tuple[int, ...]:
    tables = (Loan, LoanTransaction, LoanRepayment, Entry, PaymentOrder, CobRun, OutboxMessage)
    counted = [session.scalar(select(func.count()).select_from(t)) or 0 for t in tables]
    return (*counted, calendar.business_date(session).toordinal())


def assert_consistent(session: Session) -> None:
    assert payments_check.consistency(session) == []
    assert check_ledger(session).mismatches == []
    assert loans_check.consistency(session) == []


def kinds_by_day(session: Session, loan: Loan, kind: str) -> set[dt.date]:
    return set(
        session.scalars(
            select(LoanTransaction.business_date).where(
                LoanTransaction.loan_id == loan.id, LoanTransaction.kind == kind
            )
        )
    )


def test_the_demo_loans_end_in_every_state_with_their_history_from_the_close(
    demo: sessionmaker[Session],
) -> None:
    result = load_loans_demo(demo)
    assert result.loaded, result.message
    assert result.days_closed == DAYS
    assert set(result.loans) == {plan.name for plan in LOANS} == set(EXPECTED)
    with demo() as session:
        assert calendar.business_date(session) == TODAY  # back where it was
        by_name = {name: session.get(Loan, loan_id) for name, loan_id in result.loans.items()}
        states = {n: (x.status, x.delinquency_bucket) for n, x in by_name.items() if x}
        assert states == EXPECTED
        assert all(x.idempotency_key.startswith("demo:loan:") for x in by_name.values() if x)

        # Every past day closed by the close of business, in order, none left open.
        runs = list(session.scalars(select(CobRun).order_by(CobRun.business_date)))
        assert [r.business_date for r in runs] == [
            START + dt.timedelta(days=n) for n in range(DAYS)
        ]
        assert {r.status for r in runs} == {CobStatus.DONE}

        # The never-paid loan: interest accrued, penalty charged and provision built by the
        # close on the days after its disbursement, not written as rows.
        never = by_name["m3-plus"]
        assert never is not None
        assert never.disbursed_on == START
        accrued = kinds_by_day(session, never, "accrual")
        assert len(accrued) >= DAYS - 5
        assert accrued <= {r.business_date for r in runs}
        assert len(kinds_by_day(session, never, "penalty")) > 60
        assert kinds_by_day(session, never, "provision")
        assert 90 < never.dpd < DAYS - 27
        for name in ("current", "prepaid", "m3", "m2", "m1", "written-off"):
            loan = by_name[name]
            assert loan is not None
            assert kinds_by_day(session, loan, "accrual"), name

        # The prepayment shortened the term; the on-time payers owe nothing overdue.
        prepaid, current = by_name["prepaid"], by_name["current"]
        assert prepaid is not None
        assert current is not None
        assert prepaid.maturity_date < current.maturity_date
        purposes = set(
            session.scalars(
                select(LoanRepayment.purpose).where(LoanRepayment.loan_id == prepaid.id)
            )
        )
        assert purposes == {"installments", "prepayment"}
        assert (prepaid.dpd, current.dpd) == (0, 0)

        # Written off by the loan officer's request and the compliance officer's approval.
        written = by_name["written-off"]
        assert written is not None
        assert written.closed_on == TODAY
        approval = session.scalar(
            select(ApprovalRequest).where(ApprovalRequest.action == "loans.write_off")
        )
        assert approval is not None
        assert approval.status == "approved"
        assert approval.checker_id not in (None, approval.maker_id)
        assert approval.payload == {"loan_id": str(written.id)}

        # Paid through the demo channel; the payments demo's own orders still wait for the
        # server, as that demo intends.
        loan_orders = session.scalars(
            select(PaymentOrder).where(PaymentOrder.event_id.is_not(None))
        ).all()
        assert loan_orders
        assert {(o.channel, o.status) for o in loan_orders} == {("simbank", "succeeded")}
        demo_orders = session.scalars(
            select(PaymentOrder.status).where(PaymentOrder.event_id.is_(None))
        ).all()
        assert list(demo_orders) == [OrderStatus.CREATED.value] * len(ORDERS)

        assert_consistent(session)
        before = snapshot(session)

    again = load_loans_demo(demo)
    assert not again.loaded
    assert "already loaded" in again.message
    assert read(demo, snapshot) == before


def test_the_demo_is_skipped_where_days_were_closed(
    session_factory: sessionmaker[Session], keys: None
) -> None:
    runner.run_cob(session_factory, TODAY + dt.timedelta(days=1), steps=[])
    before = read(session_factory, snapshot)
    result = load_loans_demo(session_factory)
    assert not result.loaded
    assert "days were closed already" in result.message
    assert read(session_factory, snapshot) == before
    read(session_factory, assert_consistent)


def test_the_demo_is_skipped_without_the_demo_borrowers(
    session_factory: sessionmaker[Session], keys: None
) -> None:
    before = read(session_factory, snapshot)
    result = load_loans_demo(session_factory)
    assert not result.loaded
    assert "demo borrowers" in result.message
    assert read(session_factory, snapshot) == before


def test_a_load_that_fails_before_closing_a_day_puts_the_date_back(
    demo: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def bank_down(factory: sessionmaker[Session], order_id: object) -> None:
        raise RuntimeError("the bank is down")

    monkeypatch.setattr(loans_demo, "settle", bank_down)
    with pytest.raises(RuntimeError, match="the bank is down"):
        load_loans_demo(demo)
    with demo() as session:
        assert calendar.business_date(session) == TODAY
        assert session.scalar(select(func.count()).select_from(CobRun)) == 0
        assert_consistent(session)
