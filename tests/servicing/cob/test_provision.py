"""The loan-loss provision step of the close of business on real loans: 1 % of a new loan's
principal at the first close, 2 % once it is overdue (special mention), falling as principal
is repaid, released when the loan is paid off; a second run and a resumed run book nothing
twice; the sub-ledger (provisions included) equals the ledger throughout."""

from __future__ import annotations

import datetime as dt
import uuid
from fractions import Fraction

import pytest
from sqlalchemy import select

from lendbridge.servicing.cob import provision, runner, steps
from lendbridge.servicing.loan_schemas import LoanDetailOut
from lendbridge.servicing.models import (
    Classification,
    Loan,
    LoanTransaction,
    RepaymentPurpose,
    TransactionKind,
)
from tests.servicing.cob.closing import dying_close, loan_steps
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments): the first
# installment (946.19 of principal) is due 2026-02-15.
JAN_15, JAN_16 = dt.date(2026, 1, 15), dt.date(2026, 1, 16)
FEB_15, FEB_16, FEB_17 = dt.date(2026, 2, 15), dt.date(2026, 2, 16), dt.date(2026, 2, 17)
ONE_DAY = dt.timedelta(days=1)
PROVISION, EXPENSE = "1304.002", "6702.001"


def changes(book: Book, loan_id: uuid.UUID) -> list[tuple[dt.date, int, int]]:
    """The loan's provision transactions: (day, amount, signed change)."""
    stmt = (
        select(LoanTransaction)
        .where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == TransactionKind.PROVISION.value,
        )
        .order_by(LoanTransaction.effective_date)
    )

    def read(session: object) -> list[tuple[dt.date, int, int]]:
        out = []
        for t in session.scalars(stmt):  # type: ignore[attr-defined]
            assert (t.principal, t.interest, t.fee, t.penalty) == (0, 0, 0, 0)
            assert t.details is not None
            assert t.amount == abs(t.details["change"])
            out.append((t.effective_date, t.amount, t.details["change"]))
        return out

    return book.run(read)  # type: ignore[no-any-return]


def provision_of(book: Book, loan_id: uuid.UUID) -> tuple[int, dt.date | None]:
    loan = book.run(lambda s: s.get(Loan, loan_id))
    return loan.provision, loan.provision_as_of


def owed_through(loan: LoanDetailOut, day: dt.date) -> int:
    return sum(
        (r.principal_due - r.principal_paid)
        + (r.interest_due - r.interest_paid)
        + (r.fee_due - r.fee_paid)
        + (r.penalty_due - r.penalty_paid)
        for r in loan.installments
        if r.due_date <= day and r.state != "cancelled"
    )


def test_the_policy_rates_and_rounding() -> None:
    policy = provision.POLICY
    assert [policy.rate(c) for c in Classification] == [
        Fraction(1, 100),
        Fraction(2, 100),
        Fraction(25, 100),
        Fraction(50, 100),
        Fraction(1),
    ]
    assert policy.required(1_105_381, Classification.NORMAL) == 11_054  # 11,053.81 -> up
    assert policy.required(50, Classification.NORMAL) == 1  # 0.50 -> 1 (half up)
    assert policy.required(49, Classification.NORMAL) == 0
    assert policy.required(333, Classification.SUBSTANDARD) == 83  # 83.25
    assert policy.required(333, Classification.LOSS) == 333
    assert provision.ProvisionPolicy(normal="1.5").required(1000, Classification.NORMAL) == 15
    with pytest.raises(ValueError, match="between 0 and 100"):
        provision.ProvisionPolicy(loss="101")


def test_provision_follows_classification_and_principal_then_released(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    assert loan.start_date == JAN_15
    assert provision_of(book, loan.id) == (0, None)
    book.check()
    # The first close: normal, 1 % of 12,000.00 = 120.00.
    runner.run_cob(book.factory, JAN_16, steps=loan_steps())
    assert provision_of(book, loan.id) == (12_000, JAN_16)
    assert changes(book, loan.id) == [(JAN_15, 12_000, 12_000)]
    assert (book.balance(PROVISION), book.balance(EXPENSE)) == (12_000, 12_000)
    book.check()
    # Nothing changes while it stays normal with the same principal.
    runner.run_cob(book.factory, FEB_15, steps=loan_steps(), batch_size=2)
    assert provision_of(book, loan.id) == (12_000, FEB_15)
    assert len(changes(book, loan.id)) == 1
    book.check()
    # The due date passes unpaid: 1 day past due on 2026-02-16, special mention: 2 %, the
    # change of 120.00 booked once.
    runner.run_cob(book.factory, FEB_16, steps=loan_steps())
    detail = book.loan(loan.id)
    assert (detail.status, detail.classification) == ("overdue", "special_mention")
    assert provision_of(book, loan.id) == (24_000, FEB_16)
    assert changes(book, loan.id) == [(JAN_15, 12_000, 12_000), (FEB_15, 12_000, 12_000)]
    assert (book.balance(PROVISION), book.balance(EXPENSE)) == (24_000, 24_000)
    book.check()
    # Paying what is due: 946.19 of principal repaid, normal again: 1 % of 11,053.81 = 110.54,
    # a release of 129.46 at the next close.
    book.repay(loan.id, owed_through(detail, FEB_15))
    assert book.loan(loan.id).outstanding.principal == 12_000_00 - 94_619
    book.check()
    runner.run_cob(book.factory, FEB_17, steps=loan_steps())
    assert book.loan(loan.id).classification == "normal"
    assert provision_of(book, loan.id) == (11_054, FEB_17)
    assert changes(book, loan.id)[-1] == (FEB_16, 12_946, -12_946)
    assert (book.balance(PROVISION), book.balance(EXPENSE)) == (11_054, 11_054)
    book.check()
    # Running the close again books nothing.
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
    assert len(changes(book, loan.id)) == 3
    # Paying off: the provision stays until the close releases it, then 0.
    book.repay(loan.id, None, RepaymentPurpose.PAYOFF)
    assert book.loan(loan.id).status == "paid_off"
    assert provision_of(book, loan.id) == (11_054, FEB_17)
    book.check()
    runner.run_cob(book.factory, dt.date(2026, 2, 18), steps=loan_steps())
    assert provision_of(book, loan.id) == (0, dt.date(2026, 2, 18))
    assert changes(book, loan.id)[-1] == (FEB_17, 11_054, -11_054)
    assert (book.balance(PROVISION), book.balance(EXPENSE)) == (0, 0)
    book.check()
    # A closed loan without provision is not looked at any more.
    runner.run_cob(book.factory, dt.date(2026, 2, 20), steps=loan_steps())
    assert provision_of(book, loan.id) == (0, dt.date(2026, 2, 18))
    assert len(changes(book, loan.id)) == 4
    book.check()


def test_a_close_killed_mid_step_resumes_with_the_loans_it_had_not_reached(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    borrower = book.customer()
    loans = [book.create(borrower, 12_000_00, 12) for _ in range(5)]
    for loan in loans:
        book.disburse(loan.id)
    dying = dying_close(monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run_cob(book.factory, JAN_16, steps=dying, batch_size=2)
    reached = [changes(book, loan.id) for loan in loans]
    assert reached.count([(JAN_15, 12_000, 12_000)]) == 4  # two batches of two
    assert reached.count([]) == 1
    assert book.balance(PROVISION) == 4 * 12_000
    book.check()
    runner.run_cob(book.factory, JAN_16, steps=loan_steps(), batch_size=2)
    for loan in loans:
        assert changes(book, loan.id) == [(JAN_15, 12_000, 12_000)]  # booked exactly once
        assert provision_of(book, loan.id) == (12_000, JAN_16)
    assert book.balance(PROVISION) == 5 * 12_000
    book.check()
