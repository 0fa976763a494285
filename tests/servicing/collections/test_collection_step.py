"""The collection step of the close of business on real loans: a collection order for what
is due, only for loans whose customer signed a debit authorisation and has a card, once per
loan and day however often the close runs; a failed collection is retried by the next day's
close, not the same day's; one still on its way is not doubled; a close killed mid-step
books each collection exactly once. The sub-ledger equals the ledger throughout."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.payments.models import OrderKind, PaymentOrder
from lendbridge.servicing.cob import collection, runner
from lendbridge.servicing.interest import lock_loans
from lendbridge.servicing.loan_schemas import LoanDetailOut
from lendbridge.servicing.models import Loan, LoanRepayment
from tests.servicing.collections.conftest import (
    authorise,
    close,
    context,
    unbind_cards,
)
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15: installments due 2026-02-15, 03-15, ...
FEB_14, FEB_15, FEB_16 = dt.date(2026, 2, 14), dt.date(2026, 2, 15), dt.date(2026, 2, 16)


def owed_through(loan: LoanDetailOut, day: dt.date) -> int:
    return sum(
        (r.principal_due - r.principal_paid)
        + (r.interest_due - r.interest_paid)
        + (r.fee_due - r.fee_paid)
        + (r.penalty_due - r.penalty_paid)
        for r in loan.installments
        if r.due_date <= day and r.state == "pending"
    )


def collections_of(book: Book, loan_id: uuid.UUID) -> list[tuple[LoanRepayment, PaymentOrder]]:
    def read(session: Session) -> list[tuple[LoanRepayment, PaymentOrder]]:
        rows = session.execute(
            select(LoanRepayment, PaymentOrder)
            .join(PaymentOrder, PaymentOrder.id == LoanRepayment.order_id)
            .where(LoanRepayment.loan_id == loan_id, PaymentOrder.kind == OrderKind.COLLECTION)
            .order_by(LoanRepayment.id)
        )
        out = [(r, o) for r, o in rows]
        session.expunge_all()
        return out

    return book.run(read)  # type: ignore[no-any-return]


def test_due_loans_with_an_authorisation_are_collected_once_a_day(book: Book) -> None:
    signed, unsigned, cardless = book.customer("zhang"), book.customer("li"), book.customer("wang")
    mandate = authorise(book, signed)
    authorise(book, cardless)
    loans = {
        who: book.disburse(book.create(who, 12_000_00, 12).id)
        for who in (signed, unsigned, cardless)
    }
    unbind_cards(book, cardless)
    close(book, FEB_14)
    # Nothing is due before 2026-02-15: no collection yet.
    assert all(collections_of(book, loan.id) == [] for loan in loans.values())
    close(book, FEB_15)  # closes 2026-02-14: the installment due 2026-02-15 is collected
    loan = book.loan(loans[signed].id)
    due = owed_through(loan, FEB_15)
    assert due > 0
    ((repayment, order),) = collections_of(book, loan.id)
    assert (repayment.amount, repayment.status, repayment.purpose) == (
        due,
        "pending",
        "installments",
    )
    assert order.authorisation_ref == mandate
    assert repayment.idempotency_key == f"loan:{loan.id}:collection:2026-02-15"
    assert collections_of(book, loans[unsigned].id) == []  # no debit authorisation
    assert collections_of(book, loans[cardless].id) == []  # no bound card
    # Running the step again for the same day creates nothing (the watermark).
    collection.collection(context(book, FEB_14))
    assert len(collections_of(book, loan.id)) == 1
    book.check()
    # The order succeeds: the installment is paid on the new business date.
    book.drain()
    loan = book.loan(loan.id)
    assert owed_through(loan, FEB_15) == 0
    assert [r.status for r, _ in collections_of(book, loan.id)] == ["applied"]
    assert loan.installments[0].state == "paid"
    book.check()
    # The next close finds nothing due: no new collection.
    close(book, FEB_16)
    assert len(collections_of(book, loan.id)) == 1
    book.check()


def test_a_failed_collection_is_retried_by_the_next_close_not_the_same_day(book: Book) -> None:
    customer = book.customer()
    authorise(book, customer)
    loan = book.disburse(book.create(customer, 12_000_00, 12).id)
    close(book, FEB_14)
    book.p.fake.will("INSUFFICIENT_FUNDS")
    close(book, FEB_15)
    book.drain()
    ((first, _),) = collections_of(book, loan.id)
    assert first.status == "failed"
    # The same day again: the watermark says done; even without it, the day's key is taken.
    collection.collection(context(book, FEB_14))
    counts = book.run(lambda s: collection.collect(s, lock_loans(s, [loan.id]), FEB_15))
    assert (counts.created, counts.already) == (0, 1)
    assert len(collections_of(book, loan.id)) == 1
    # The next close tries again, for everything overdue (penalty interest included).
    close(book, FEB_16)
    rows = collections_of(book, loan.id)
    assert [r.status for r, _ in rows] == ["failed", "pending"]
    assert rows[1][0].amount == owed_through(book.loan(loan.id), FEB_16)
    assert rows[1][0].idempotency_key.endswith(":2026-02-16")
    book.drain()
    assert owed_through(book.loan(loan.id), FEB_16) == 0
    book.check()


def test_a_collection_on_its_way_is_not_doubled(book: Book) -> None:
    customer = book.customer()
    authorise(book, customer)
    loan = book.disburse(book.create(customer, 12_000_00, 12).id)
    close(book, FEB_15)
    assert len(collections_of(book, loan.id)) == 1  # not sent yet: no drain
    close(book, FEB_16)  # overdue now, but the first collection is still pending
    assert [r.status for r, _ in collections_of(book, loan.id)] == ["pending"]
    book.drain()
    book.check()


def test_a_refused_collection_is_audited_and_does_not_stop_the_close(book: Book) -> None:
    customer = book.customer()
    authorise(book, customer)
    loan = book.disburse(book.create(customer, 12_000_00, 12).id)
    close(book, FEB_14)

    def off_channel(session: Session) -> None:
        session.execute(update(Loan).where(Loan.id == loan.id).values(disbursement_channel="x"))

    book.run(off_channel)
    close(book, FEB_15)
    assert collections_of(book, loan.id) == []
    skipped = book.run(
        lambda s: s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "loans.collection.skipped")
        )
    )
    assert skipped == 1
    assert book.loan(loan.id).status == "active"
    book.check()


def test_a_close_killed_mid_step_collects_each_loan_exactly_once(book: Book) -> None:
    customer = book.customer()
    authorise(book, customer)
    loans = [book.disburse(book.create(customer, 12_000_00, 12).id) for _ in range(5)]
    close(book, FEB_14)
    calls = {"batches": 0}

    def dies_after_two_batches(ctx: runner.StepContext) -> None:
        original = ctx.committed

        def committed(items: int) -> None:
            original(items)
            calls["batches"] += 1
            if calls["batches"] == 2:
                raise RuntimeError("killed")

        object.__setattr__(ctx, "committed", committed)
        collection.collection(ctx)

    with pytest.raises(RuntimeError, match="killed"):
        close(book, FEB_15, collect=dies_after_two_batches)
    assert sorted(len(collections_of(book, loan.id)) for loan in loans) == [0, 1, 1, 1, 1]
    book.check()
    close(book, FEB_15)  # resumes: the loan it had not reached, nothing twice
    assert [len(collections_of(book, loan.id)) for loan in loans] == [1] * 5
    assert book.today() == FEB_15
    book.drain()
    assert all(owed_through(book.loan(loan.id), FEB_15) == 0 for loan in loans)
    book.check()
