"""Loan test fixtures: the payments world (chart, channel ``sim`` on a scripted fake, fake
clock) plus a loan product and verified borrowers, and a ``Book`` that drives loans through
the real services and jobs — and checks, after each step it is asked to, that payments, the
ledger and the loan sub-ledger agree."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import calendar, jobs
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.ledger import service as ledger
from lendbridge.ledger.check import check_ledger
from lendbridge.payments import check as payments_check
from lendbridge.payments import submission  # noqa: F401  (registers the sending jobs)
from lendbridge.servicing import check as loans_check
from lendbridge.servicing import (
    disbursement,
    loans,
    payoff,
    repayments,
    subscribers,  # noqa: F401  (registers the loans job)
)
from lendbridge.servicing.loan_schemas import (
    DisburseIn,
    LoanDetailOut,
    LoanIn,
    PayoffQuoteOut,
    RepaymentIn,
    RepaymentOut,
)
from lendbridge.servicing.models import RepaymentPurpose
from tests.payments.conftest import Payments, payments  # noqa: F401  (the fixture)
from tests.servicing import factories as f

ACTOR = system_actor("tests")


@dataclass
class Book:
    factory: sessionmaker[Session]
    p: Payments

    def run(self, fn: Callable[[Session], Any]) -> Any:
        with unit_of_work(self.factory) as session:
            return fn(session)

    def customer(self, who: str = "zhang", **kw: Any) -> uuid.UUID:
        return self.run(lambda s: f.customer(s, who, **kw))  # type: ignore[no-any-return]

    def product(self, **changes: Any) -> str:
        return self.run(lambda s: f.product(s, **changes))  # type: ignore[no-any-return]

    def create(
        self, customer: uuid.UUID, amount: int = 12_000_00, term: int = 12, **kw: Any
    ) -> LoanDetailOut:
        body = LoanIn(
            customer_id=customer,
            product_code=kw.pop("product_code", "LOAN-EI"),
            amount=amount,
            term=term,
            **kw,
        )
        key = uuid.uuid4().hex
        out, _ = self.run(lambda s: loans.create_loan(s, body, idempotency_key=key, actor=ACTOR))
        return out  # type: ignore[no-any-return]

    def disburse(self, loan_id: uuid.UUID, *, drain: bool = True) -> LoanDetailOut:
        key = uuid.uuid4().hex
        self.run(
            lambda s: disbursement.disburse(
                s, loan_id, DisburseIn(channel="sim"), idempotency_key=key, actor=ACTOR
            )
        )
        if drain:
            self.drain()
        return self.loan(loan_id)

    def repay(
        self,
        loan_id: uuid.UUID,
        amount: int | None,
        purpose: RepaymentPurpose = RepaymentPurpose.INSTALLMENTS,
        *,
        drain: bool = True,
    ) -> RepaymentOut:
        body = RepaymentIn(channel="sim", purpose=purpose, amount=amount)
        key = uuid.uuid4().hex
        out, _ = self.run(
            lambda s: repayments.request_repayment(
                s, loan_id, body, idempotency_key=key, actor=ACTOR
            )
        )
        if drain:
            self.drain()
        return self.repayment(loan_id, out.id)

    def repayment(self, loan_id: uuid.UUID, repayment_id: uuid.UUID) -> RepaymentOut:
        return self.run(  # type: ignore[no-any-return]
            lambda s: repayments.get_repayment(s, loan_id, repayment_id)
        )

    def quote(self, loan_id: uuid.UUID, on: dt.date) -> PayoffQuoteOut:
        return self.run(  # type: ignore[no-any-return]
            lambda s: payoff.payoff_quote(s, loans.load(s, loan_id), on)
        )

    def drain(self) -> int:
        """Run every job: sending orders, then the loans subscriber."""
        return jobs.drain(self.factory, rounds=50, advance=lambda: self.p.clock.advance(hours=1))

    def loan(self, loan_id: uuid.UUID) -> LoanDetailOut:
        return self.run(lambda s: loans.get_loan(s, loan_id))  # type: ignore[no-any-return]

    def today(self) -> dt.date:
        return self.run(calendar.business_date)  # type: ignore[no-any-return]

    def set_date(self, day: dt.date) -> None:
        self.run(lambda s: calendar.set_business_date(s, day))

    def balance(self, code: str) -> int:
        return self.run(lambda s: ledger.balance(s, code).balance)  # type: ignore[no-any-return]

    def check(self) -> None:
        """Payments, the ledger and the loan sub-ledger all agree."""

        def run_checks(session: Session) -> None:
            assert payments_check.consistency(session) == []
            assert check_ledger(session).mismatches == []
            assert loans_check.consistency(session) == []

        self.run(run_checks)


@pytest.fixture
def book(payments: Payments) -> Book:  # noqa: F811
    b = Book(payments.factory, payments)
    b.product()
    return b
