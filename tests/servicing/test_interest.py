"""Interest recognition and fee charges on both databases: day by day over a loan's whole life
the accrual adds up to the schedule's interest exactly, each day's run reads only the
installments it can change, a batch of loans posts through the ledger's bulk path as well as
its batch API, and bringing a loan current twice books nothing twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from lendbridge.servicing import interest, loans
from lendbridge.servicing.accounting import FEES, INTEREST, INTEREST_INCOME
from lendbridge.servicing.models import LoanTransaction
from tests.conftest import TODAY
from tests.servicing.conftest import ACTOR, Book

DAY = dt.timedelta(days=1)


def bring_current(book: Book, loan_ids: list, to: dt.date) -> int:
    def run(session):
        return interest.bring_current(session, interest.lock_loans(session, loan_ids), to, ACTOR)

    return book.run(run)  # type: ignore[no-any-return]


def test_daily_accrual_over_the_life_of_a_loan_is_the_schedules_interest(book: Book) -> None:
    book.product(code="LOAN-FEES", installment_fee={"fixed": 5_00}, allowed_terms=[3])
    created = book.create(book.customer(), 3_000_00, 3, product_code="LOAN-FEES")
    loan = book.disburse(created.id)
    scheduled = sum(r.interest_due for r in loan.installments)
    fees = sum(r.fee_due for r in loan.installments)
    day = TODAY
    while day < loan.maturity_date:
        day += DAY
        book.set_date(day)
        bring_current(book, [loan.id], day)
    after = book.loan(loan.id)
    assert after.outstanding.interest == scheduled
    assert after.outstanding.fee == fees == 15_00
    assert all(r.interest_accrued == r.interest_due for r in after.installments)
    assert book.balance(INTEREST) == book.balance(INTEREST_INCOME) == scheduled
    assert book.balance(FEES) == fees
    accruals = book.run(
        lambda s: list(
            s.scalars(
                select(LoanTransaction.interest).where(
                    LoanTransaction.loan_id == loan.id, LoanTransaction.kind == "accrual"
                )
            )
        )
    )
    assert len(accruals) == (loan.maturity_date - TODAY).days  # one a day
    assert sum(accruals) == scheduled
    book.check()


def test_bringing_current_again_books_nothing(book: Book) -> None:
    loan = book.disburse(book.create(book.customer()).id)
    book.set_date(TODAY + 10 * DAY)
    assert bring_current(book, [loan.id], TODAY + 10 * DAY) == 1
    assert bring_current(book, [loan.id], TODAY + 10 * DAY) == 0
    assert bring_current(book, [loan.id], TODAY + 5 * DAY) == 0  # never backwards
    after = book.loan(loan.id)
    assert after.interest_accrued_to == TODAY + 10 * DAY
    book.check()


def test_a_daily_run_reads_one_or_two_installments_whatever_the_loans_age(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    read: list[int] = []

    def count_rows(session, day):
        rows: list[object] = []

        @event.listens_for(session, "loaded_as_persistent")
        def loaded(_session, instance):
            if type(instance).__name__ == "LoanInstallment":
                rows.append(instance)

        interest.bring_current(session, interest.lock_loans(session, [loan.id]), day, ACTOR)
        read.append(len(rows))

    for day in (TODAY + DAY, dt.date(2026, 9, 1), dt.date(2026, 9, 2), dt.date(2026, 12, 20)):
        book.set_date(day)
        book.run(lambda s, d=day: count_rows(s, d))
    assert all(n >= 1 for n in read)
    assert read[0] <= 2
    assert read[2] <= 2  # eight months on, a day's run still reads one or two
    assert read[3] <= 2 + (dt.date(2026, 12, 20) - dt.date(2026, 9, 2)).days // 7
    book.check()


@pytest.mark.parametrize("threshold", [0, 1000])
def test_a_batch_of_loans_in_one_call(book: Book, monkeypatch, threshold) -> None:
    monkeypatch.setattr(interest, "BULK_THRESHOLD", threshold)  # 0: the bulk COPY path
    ids = [
        book.disburse(book.create(book.customer(who), amount, 6).id).id
        for who, amount in (("zhang", 5_000_00), ("li", 8_000_00), ("wang", 20_000_00))
    ]
    day = dt.date(2026, 2, 20)  # past the first due date of each
    book.set_date(day)
    assert bring_current(book, ids, day) == 3
    for loan_id in ids:
        loan = book.loan(loan_id)
        assert loan.interest_accrued_to == day
        assert loan.installments[0].interest_accrued == loan.installments[0].interest_due
        assert 0 < loan.installments[1].interest_accrued < loan.installments[1].interest_due
        transactions = book.run(lambda s, i=loan_id: loans.list_transactions(s, i).items)
        accrual = next(t for t in transactions if t.kind == "accrual")
        assert accrual.entry_id is not None
        assert accrual.interest == loan.outstanding.interest
    book.check()
