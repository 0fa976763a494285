"""The delinquency step of the close of business on real loans: a loan not paid on its due
date becomes overdue, its days past due count up day by day through the buckets and tiers;
paying what is due brings it back to active; a second run and a resumed run change nothing
twice; the sub-ledger equals the ledger throughout. And the days-past-due mapping itself."""

from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.servicing.cob import runner, steps
from lendbridge.servicing.cob.delinquency import POLICY, DelinquencyPolicy
from lendbridge.servicing.loan_schemas import LoanDetailOut
from lendbridge.servicing.models import Classification, DelinquencyBucket
from tests.servicing.cob.closing import dying_close, loan_steps
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments): the first
# installment is due 2026-02-15, the second 2026-03-15.
FEB_15, FEB_16 = dt.date(2026, 2, 15), dt.date(2026, 2, 16)
B, C = DelinquencyBucket, Classification


def owed_through(loan: LoanDetailOut, day: dt.date) -> int:
    """What the installments due on or before ``day`` still owe."""
    return sum(
        (r.principal_due - r.principal_paid)
        + (r.interest_due - r.interest_paid)
        + (r.fee_due - r.fee_paid)
        + (r.penalty_due - r.penalty_paid)
        for r in loan.installments
        if r.due_date <= day and r.state != "cancelled"
    )


@pytest.mark.parametrize(
    ("dpd", "bucket", "tier"),
    [
        (0, B.CURRENT, C.NORMAL),
        (1, B.M1, C.SPECIAL_MENTION),
        (30, B.M1, C.SPECIAL_MENTION),
        (31, B.M2, C.SPECIAL_MENTION),
        (60, B.M2, C.SPECIAL_MENTION),
        (61, B.M3, C.SPECIAL_MENTION),
        (90, B.M3, C.SPECIAL_MENTION),
        (91, B.M3_PLUS, C.SUBSTANDARD),
        (270, B.M3_PLUS, C.SUBSTANDARD),
        (271, B.M3_PLUS, C.DOUBTFUL),
        (360, B.M3_PLUS, C.DOUBTFUL),
        (361, B.M3_PLUS, C.LOSS),
        (10_000, B.M3_PLUS, C.LOSS),
    ],
)
def test_days_past_due_map_to_bucket_and_classification(
    dpd: int, bucket: DelinquencyBucket, tier: Classification
) -> None:
    assert (POLICY.bucket(dpd), POLICY.classification(dpd)) == (bucket, tier)


def test_the_thresholds_are_configurable_and_checked() -> None:
    strict = DelinquencyPolicy(special_mention_max=30, substandard_max=90, doubtful_max=180)
    assert strict.classification(31) == C.SUBSTANDARD
    assert strict.classification(181) == C.LOSS
    with pytest.raises(ValueError, match="increase"):
        DelinquencyPolicy(m1_max=60, m2_max=30)
    with pytest.raises(ValueError, match="negative"):
        POLICY.bucket(-1)


def test_an_unpaid_installment_makes_the_loan_overdue_until_paid(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    assert (loan.dpd, loan.delinquency_bucket, loan.classification) == (0, B.CURRENT, C.NORMAL)
    runner.run_cob(book.factory, FEB_15, steps=loan_steps(), batch_size=2)
    loan = book.loan(loan.id)
    # The installment is due on the business date: not overdue yet.
    assert (loan.status, loan.dpd, loan.delinquency_as_of) == ("active", 0, FEB_15)
    book.check()
    # Day by day: 1 day past due on 2026-02-16, M1 through 30, M2 from 31.
    day = FEB_16
    while day <= dt.date(2026, 3, 19):
        runner.run_cob(book.factory, day, steps=loan_steps(), batch_size=2)
        loan = book.loan(loan.id)
        dpd = (day - FEB_15).days
        assert (loan.status, loan.dpd, loan.overdue_since, loan.delinquency_as_of) == (
            "overdue",
            dpd,
            FEB_15,
            day,
        )
        assert loan.delinquency_bucket == (B.M1 if dpd <= 30 else B.M2)
        assert loan.classification == C.SPECIAL_MENTION
        day += dt.timedelta(days=1)
    assert loan.dpd == 32
    book.check()
    # Running the close again changes nothing: the runner skips the closed days, and the step
    # itself finds no loan left for the date.
    assert runner.run_cob(book.factory, book.today(), steps=loan_steps()) == []
    progress = runner.StepResult()
    steps.close(
        runner.StepContext(
            factory=book.factory,
            business_date=book.today() - dt.timedelta(days=1),
            batch_size=2,
            renew=lambda: None,
            progress=progress,
        )
    )
    assert progress == runner.StepResult()
    assert book.loan(loan.id).version == loan.version
    # Paying the first installment alone leaves the second (due 2026-03-15) overdue.
    first = next(r for r in loan.installments if r.number == 1)
    book.repay(loan.id, owed_through(loan, FEB_15))
    runner.run_cob(book.factory, dt.date(2026, 3, 20), steps=loan_steps())
    loan = book.loan(loan.id)
    assert first.due_date == FEB_15
    assert (loan.status, loan.dpd, loan.overdue_since) == ("overdue", 5, dt.date(2026, 3, 15))
    assert loan.delinquency_bucket == B.M1
    book.check()
    # Paying everything due brings it back: active, 0 days past due, current, normal.
    book.repay(loan.id, owed_through(loan, dt.date(2026, 3, 19)))
    runner.run_cob(book.factory, dt.date(2026, 3, 21), steps=loan_steps())
    loan = book.loan(loan.id)
    assert (loan.status, loan.dpd, loan.overdue_since) == ("active", 0, None)
    assert (loan.delinquency_bucket, loan.classification) == (B.CURRENT, C.NORMAL)
    moves = [(t.from_status, t.to_status, t.business_date) for t in loan.transitions]
    assert moves[-2:] == [
        ("active", "overdue", FEB_15),
        ("overdue", "active", dt.date(2026, 3, 20)),
    ]
    book.check()


def test_a_close_killed_mid_step_resumes_with_the_loans_it_had_not_reached(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    borrower = book.customer()
    loans = [book.create(borrower, 12_000_00, 12) for _ in range(5)]
    for loan in loans:
        book.disburse(loan.id)
    runner.run_cob(book.factory, FEB_15, steps=loan_steps(), batch_size=2)
    dying = dying_close(monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run_cob(book.factory, FEB_16, steps=dying, batch_size=2)
    reached = [book.loan(loan.id) for loan in loans]
    assert [x.delinquency_as_of for x in reached].count(FEB_16) == 4  # two batches of two
    assert [x.status for x in reached].count("overdue") == 4
    book.check()
    runner.run_cob(book.factory, FEB_16, steps=loan_steps(), batch_size=2)
    for loan in loans:
        done = book.loan(loan.id)
        assert (done.status, done.dpd, done.delinquency_as_of) == ("overdue", 1, FEB_16)
        overdue = [t for t in done.transitions if t.to_status == "overdue"]
        assert len(overdue) == 1  # each loan moved exactly once
    book.check()
