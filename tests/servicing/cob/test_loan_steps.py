"""The close of business on real loans: each closed day recognises that day's interest, once;
over a whole installment period the recognised interest is exactly the schedule's; a second
run and a resumed run book nothing twice; the sub-ledger equals the ledger throughout."""

from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.servicing.cob import runner
from lendbridge.servicing.schedule.methods import half_up
from tests.servicing.cob.closing import dying_close, loan_steps
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments): the first
# installment's interest is 120.00, earned from 2026-01-15 to 2026-02-15 (31 days).
FIRST_INTEREST = 120_00
FEB_15 = dt.date(2026, 2, 15)


def test_each_closed_day_recognises_its_interest_once(book: Book) -> None:
    borrower = book.customer()
    loans = [book.create(borrower, 12_000_00, 12) for _ in range(3)]
    for loan in loans:
        book.disburse(loan.id)
    start = book.today()
    runner.run_cob(book.factory, start + dt.timedelta(days=10), steps=loan_steps(), batch_size=2)
    after_ten = [book.loan(loan.id) for loan in loans]
    assert {loan.interest_accrued_to for loan in after_ten} == {start + dt.timedelta(days=10)}
    ten_days = after_ten[0].outstanding.interest
    assert 0 < ten_days < FIRST_INTEREST
    assert ten_days == half_up(FIRST_INTEREST * 10, 31)  # linear in days, rounded half up
    book.check()
    # Through the due date: the first period's interest exactly as scheduled.
    runner.run_cob(book.factory, FEB_15, steps=loan_steps(), batch_size=2)
    assert {book.loan(loan.id).outstanding.interest for loan in loans} == {FIRST_INTEREST}
    assert runner.run_cob(book.factory, FEB_15, steps=loan_steps()) == []  # nothing twice
    assert {book.loan(loan.id).outstanding.interest for loan in loans} == {FIRST_INTEREST}
    book.check()


def test_a_close_killed_mid_step_resumes_with_the_loans_it_had_not_reached(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    borrower = book.customer()
    loans = [book.create(borrower, 12_000_00, 12) for _ in range(5)]
    for loan in loans:
        book.disburse(loan.id)
    start = book.today()
    dying = dying_close(monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run_cob(book.factory, start + dt.timedelta(days=1), steps=dying, batch_size=2)
    reached = [book.loan(loan.id).interest_accrued_to for loan in loans]
    assert reached.count(start + dt.timedelta(days=1)) == 4  # two batches of two committed
    runner.run_cob(book.factory, start + dt.timedelta(days=1), steps=loan_steps(), batch_size=2)
    one_day = {book.loan(loan.id).outstanding.interest for loan in loans}
    assert one_day == {half_up(FIRST_INTEREST, 31)}  # every loan booked exactly once
    book.check()
