"""The penalty interest step of the close of business on real loans: nothing during the
grace days, then the exact day's amount each day; a second run and a resumed run book nothing
twice; paying everything due clears the penalties and the loan is active again; the
sub-ledger equals the ledger throughout. And the rounding and spreading rules themselves."""

from __future__ import annotations

import datetime as dt
import uuid
from fractions import Fraction

import pytest
from sqlalchemy import select

from lendbridge.products.schemas import PenaltyIn
from lendbridge.servicing.cob import penalty, runner, steps
from lendbridge.servicing.loan_schemas import LoanDetailOut
from lendbridge.servicing.models import Loan, LoanTransaction, TransactionKind
from tests.servicing.cob.closing import dying_close, loan_steps
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments): the first
# installment is due 2026-02-15, the second 2026-03-15.
FEB_15, FEB_16 = dt.date(2026, 2, 15), dt.date(2026, 2, 16)
ONE_DAY = dt.timedelta(days=1)


def penalty_product(book: Book, code: str, **settings: object) -> str:
    return book.product(code=code, penalty=settings)


def owed_through(loan: LoanDetailOut, day: dt.date) -> int:
    return sum(
        (r.principal_due - r.principal_paid)
        + (r.interest_due - r.interest_paid)
        + (r.fee_due - r.fee_paid)
        + (r.penalty_due - r.penalty_paid)
        for r in loan.installments
        if r.due_date <= day and r.state != "cancelled"
    )


def penalties(book: Book, loan_id: uuid.UUID) -> list[tuple[dt.date, int]]:
    stmt = (
        select(LoanTransaction.effective_date, LoanTransaction.penalty)
        .where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == TransactionKind.PENALTY.value,
        )
        .order_by(LoanTransaction.effective_date)
    )
    return book.run(lambda s: [(d, p) for d, p in s.execute(stmt)])  # type: ignore[no-any-return]


def watermark(book: Book, loan_id: uuid.UUID) -> dt.date | None:
    return book.run(lambda s: s.get(Loan, loan_id).penalty_through)  # type: ignore[no-any-return,union-attr]


def test_rounding_and_spreading_are_exact() -> None:
    assert penalty.half_up(Fraction(1, 2)) == 1
    assert penalty.half_up(Fraction(149, 100)) == 1
    assert penalty.half_up(Fraction(0)) == 0
    # 0.4 + 0.4 + 0.4 = 1.2 -> 1, to the earliest of the equal remainders
    assert penalty.split(1, [Fraction(2, 5)] * 3) == [1, 0, 0]
    assert penalty.split(3, [Fraction(7, 5), Fraction(6, 5)]) == [2, 1]
    rate = penalty.daily_rate(PenaltyIn(basis="rate_multiple", rate_multiple="1.5"), "12")
    assert rate == Fraction(18, 36500)
    rate = penalty.daily_rate(PenaltyIn(basis="daily_rate", daily_rate_percent="0.05"), "12")
    assert rate == Fraction(5, 10000)
    assert penalty.daily_rate(PenaltyIn(), "12") is None


def test_penalty_after_the_grace_days_then_paid_back(book: Book) -> None:
    code = penalty_product(
        book, "LOAN-PEN", basis="rate_multiple", rate_multiple="1.5", grace_days=3
    )
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12, product_code=code).id)
    first, second = (next(r for r in loan.installments if r.number == n) for n in (1, 2))
    assert (first.due_date, second.due_date) == (FEB_15, dt.date(2026, 3, 15))
    assert (first.principal_due, second.principal_due) == (94_619, 95_565)
    # Closing the due date and the three grace days (2026-02-16 … 18) charges nothing.
    runner.run_cob(book.factory, dt.date(2026, 2, 19), steps=loan_steps(), batch_size=2)
    loan = book.loan(loan.id)
    assert (loan.status, loan.outstanding.penalty) == ("overdue", 0)
    assert penalties(book, loan.id) == []
    assert watermark(book, loan.id) == dt.date(2026, 2, 18)
    book.check()
    # From 2026-02-19 (day 4 past due): 946.19 × 12 % × 1.5 / 365 = 0.4666… -> 0.47 a day.
    runner.run_cob(book.factory, dt.date(2026, 2, 22), steps=loan_steps(), batch_size=2)
    assert penalties(book, loan.id) == [
        (dt.date(2026, 2, 19), 47),
        (dt.date(2026, 2, 20), 47),
        (dt.date(2026, 2, 21), 47),
    ]
    loan = book.loan(loan.id)
    assert loan.outstanding.penalty == 141
    assert next(r for r in loan.installments if r.number == 1).penalty_due == 141
    assert book.balance("1132.004") == 141
    assert book.balance("6011.002") == 141
    book.check()
    # Through 2026-03-19: the second installment joins on 2026-03-19 (its day 4):
    # (946.19 + 955.65) × 18 / 36500 = 0.9379… -> 0.94, spread 0.47 + 0.47 (0.4666 / 0.4713).
    runner.run_cob(book.factory, dt.date(2026, 3, 20), steps=loan_steps())
    days = penalties(book, loan.id)
    assert days[-2:] == [(dt.date(2026, 3, 18), 47), (dt.date(2026, 3, 19), 94)]
    assert len(days) == (dt.date(2026, 3, 19) - dt.date(2026, 2, 19)).days + 1
    loan = book.loan(loan.id)
    total = 47 * (len(days) - 1) + 94
    assert loan.outstanding.penalty == total
    rows = {r.number: r.penalty_due for r in loan.installments}
    assert (rows[1], rows[2]) == (total - 47, 47)
    book.check()
    # Running the close again books nothing: the runner skips closed days, and the step finds
    # no loan left for the day.
    assert runner.run_cob(book.factory, book.today(), steps=loan_steps()) == []
    progress = runner.StepResult()
    steps.close(
        runner.StepContext(
            factory=book.factory,
            business_date=book.today() - ONE_DAY,
            batch_size=2,
            renew=lambda: None,
            progress=progress,
        )
    )
    assert progress == runner.StepResult()
    assert penalties(book, loan.id) == days
    # Paying everything due, penalties first, clears them; the loan is active again and
    # charges nothing more.
    book.repay(loan.id, owed_through(loan, dt.date(2026, 3, 19)))
    loan = book.loan(loan.id)
    assert loan.outstanding.penalty == 0
    assert all(r.penalty_paid == r.penalty_due for r in loan.installments)
    assert book.balance("1132.004") == 0
    assert book.balance("6011.002") == total
    book.check()
    runner.run_cob(book.factory, dt.date(2026, 3, 22), steps=loan_steps())
    loan = book.loan(loan.id)
    assert (loan.status, loan.dpd, loan.outstanding.penalty) == ("active", 0, 0)
    assert penalties(book, loan.id) == days
    assert watermark(book, loan.id) == dt.date(2026, 3, 21)
    book.check()


def test_a_daily_rate_without_grace_starts_the_day_after_the_due_date(book: Book) -> None:
    code = penalty_product(book, "LOAN-DAY", basis="daily_rate", daily_rate_percent="0.05")
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12, product_code=code).id)
    runner.run_cob(book.factory, FEB_16, steps=loan_steps())  # closes the due date: nothing
    assert penalties(book, loan.id) == []
    runner.run_cob(book.factory, dt.date(2026, 2, 18), steps=loan_steps())
    # 946.19 × 0.05 % = 0.473095 -> 0.47
    assert penalties(book, loan.id) == [(FEB_16, 47), (dt.date(2026, 2, 17), 47)]
    book.check()


def test_a_product_without_penalty_charges_nothing(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    runner.run_cob(book.factory, dt.date(2026, 2, 20), steps=loan_steps())
    assert book.loan(loan.id).status == "overdue"
    assert penalties(book, loan.id) == []
    assert watermark(book, loan.id) == dt.date(2026, 2, 19)
    book.check()


def test_a_close_killed_mid_step_resumes_with_the_loans_it_had_not_reached(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = penalty_product(book, "LOAN-DAY", basis="daily_rate", daily_rate_percent="0.05")
    borrower = book.customer()
    loans = [book.create(borrower, 12_000_00, 12, product_code=code) for _ in range(5)]
    for loan in loans:
        book.disburse(loan.id)
    runner.run_cob(book.factory, FEB_16, steps=loan_steps(), batch_size=2)
    dying = dying_close(monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run_cob(
            book.factory,
            dt.date(2026, 2, 17),
            steps=dying,
            batch_size=2,
        )
    reached = [penalties(book, loan.id) for loan in loans]
    assert reached.count([(FEB_16, 47)]) == 4  # two batches of two
    assert reached.count([]) == 1
    assert [watermark(book, loan.id) for loan in loans].count(FEB_16) == 4
    book.check()
    runner.run_cob(book.factory, dt.date(2026, 2, 17), steps=loan_steps(), batch_size=2)
    for loan in loans:
        assert penalties(book, loan.id) == [(FEB_16, 47)]  # each loan charged exactly once
        assert book.loan(loan.id).outstanding.penalty == 47
        assert watermark(book, loan.id) == FEB_16
    book.check()
