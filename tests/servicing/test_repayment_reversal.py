"""Channel reversals of repayments that succeeded, on both databases: the repayment's
application is undone by the replay (later repayments re-applied, penalties recomputed), the
money the channel took back leaves the customer's credit balance (suspense settled), a payoff
reversed reopens the loan; a repeated event changes nothing; a reversal arriving before the
success marks the repayment reversed. The sub-ledger equals the ledger after every scenario."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import ValidationFailed
from lendbridge.payments import callbacks
from lendbridge.payments.lifecycle import SUSPENSE
from lendbridge.servicing import subscribers
from lendbridge.servicing.accounting import INTEREST, PRINCIPAL
from lendbridge.servicing.loan_schemas import RepaymentOut
from lendbridge.servicing.models import LoanTransition, RepaymentPurpose, TransactionKind
from tests.servicing.conftest import Book
from tests.servicing.test_replay import (
    FEB,
    FIRST,
    FIRST_INTEREST,
    backdated,
    close_to,
    kinds,
    live_penalties,
    penalty_loan,
    reversal_entries,
    row,
)

MAR_1 = dt.date(2026, 3, 1)


def reverse(book: Book, repayment: RepaymentOut) -> None:
    """The channel reverses the repayment's order (a callback), then the jobs run."""
    body = json.dumps({"order_no": str(repayment.order_id), "status": "reversed"}).encode()
    with unit_of_work(book.factory) as session:
        callbacks.handle(session, "sim", {"x-signature": "good"}, body)
    book.drain()


def test_a_reversed_repayment_is_undone_and_the_later_one_applied_again(book: Book) -> None:
    loan = penalty_loan(book)
    close_to(book, FEB[16])
    # 02-16: 500.00 pays the interest and 380.00 of principal; 566.19 stays overdue
    first = book.repay(loan.id, 500_00)
    close_to(book, FEB[19])  # 566.19 x 0.05 % = 0.28 for 02-16 … 02-18
    assert live_penalties(book, loan.id) == [(FEB[d], 28) for d in (16, 17, 18)]
    # 02-19: 1,000.00 pays 0.84 of penalties and the 566.19: 432.97 stays in credit
    second = book.repay(loan.id, 1_000_00)
    assert (second.applied, second.to_credit) == (567_03, 432_97)
    close_to(book, FEB[21])
    book.check()
    entries = reversal_entries(book)
    reverse(book, first)
    undone = book.repayment(loan.id, first.id)
    assert (undone.status, undone.applied, undone.to_credit) == ("reversed", 0, 0)
    # Without the 500.00: 946.19 overdue, 0.47 a day for 02-16 … 02-18; the 1,000.00 of
    # 02-19 pays 1.41 of penalties, the 120.00 of interest and 878.59 of principal; 67.60
    # stays overdue: 0.03 a day for 02-19 and 02-20.
    again = book.repayment(loan.id, second.id)
    assert (again.status, again.effective_date, again.applied, again.to_credit) == (
        "applied",
        FEB[19],
        1_000_00,
        0,
    )
    assert live_penalties(book, loan.id) == [
        *[(FEB[d], 47) for d in (16, 17, 18)],
        (FEB[19], 3),
        (FEB[20], 3),
    ]
    after = book.loan(loan.id)
    one = row(after, 1)
    assert (one.state, one.interest_paid, one.principal_paid) == ("pending", FIRST_INTEREST, 878_59)
    assert (one.penalty_due, one.penalty_paid) == (147, 141)
    assert (after.status, after.dpd) == ("overdue", 6)
    # 3 penalties and 2 repayments reversed, each by its own reversal entry
    assert kinds(book, loan.id)[TransactionKind.REVERSAL.value] == 5
    assert reversal_entries(book) - entries == 5
    assert after.outstanding.penalty == 6
    # the money the channel took back is gone from the credit balance, suspense is clear
    assert book.balance(after.customer_account) == 0
    assert book.balance(SUSPENSE) == 0
    book.check()
    # The event delivered again changes nothing.
    before = kinds(book, loan.id)
    payload = {
        "order_id": str(first.order_id),
        "event_id": str(first.id),
        "event_type": "loan.repayment",
        "status": "reversed",
    }
    assert (
        book.run(lambda s: subscribers.handle(s, payload)) == "ignored: the repayment is reversed"
    )
    assert kinds(book, loan.id) == before
    book.check()


def test_a_reversed_payoff_reopens_the_loan(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    book.set_date(FEB[15])
    book.repay(loan.id, FIRST)
    book.set_date(MAR_1)
    opened = book.loan(loan.id)
    payoff = book.repay(loan.id, None, RepaymentPurpose.PAYOFF)
    closed = book.loan(loan.id)
    assert (closed.status, closed.closed_on) == ("paid_off", MAR_1)
    book.check()
    reverse(book, payoff)
    assert book.repayment(loan.id, payoff.id).status == "reversed"
    reopened = book.loan(loan.id)
    assert (reopened.status, reopened.closed_on, reopened.dpd) == ("active", None, 0)
    assert reopened.maturity_date == opened.maturity_date
    assert [
        (r.number, r.state, r.principal_due, r.interest_due) for r in reopened.installments
    ] == [(r.number, r.state, r.principal_due, r.interest_due) for r in opened.installments]
    assert reopened.outstanding.principal == 12_000_00 - (FIRST - FIRST_INTEREST)
    assert reopened.outstanding.interest == closed.outstanding.interest + payoff.applied - (
        12_000_00 - (FIRST - FIRST_INTEREST)
    )
    assert book.balance(PRINCIPAL) == reopened.outstanding.principal
    assert book.balance(INTEREST) == reopened.outstanding.interest
    assert book.balance(reopened.customer_account) == 0
    assert book.balance(SUSPENSE) == 0
    moves = book.run(
        lambda s: [
            (t.from_status, t.to_status)
            for t in s.scalars(
                select(LoanTransition)
                .where(LoanTransition.loan_id == loan.id)
                .order_by(LoanTransition.id)
            )
        ]
    )
    assert moves[-2:] == [("active", "paid_off"), ("paid_off", "active")]
    book.check()
    # The reopened loan is serviced again: the next close accrues, a repayment applies.
    close_to(book, dt.date(2026, 3, 16))
    assert book.loan(loan.id).status == "overdue"
    book.repay(loan.id, 2_000_00)
    close_to(book, dt.date(2026, 3, 17))
    assert book.loan(loan.id).status == "active"
    book.check()


def test_a_reversal_seen_before_the_success_only_marks_the_repayment(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    book.set_date(FEB[15])
    pending = book.repay(loan.id, FIRST, drain=False)
    # The channel says reversed before the platform heard of the success: payments books
    # the success and its reversal at once; the loan never sees the money.
    book.p.fake.will("processing")
    book.drain()
    reverse(book, book.repayment(loan.id, pending.id))
    done = book.repayment(loan.id, pending.id)
    assert (done.status, done.applied) == ("reversed", 0)
    assert row(book.loan(loan.id), 1).state == "pending"
    assert book.balance(book.loan(loan.id).customer_account) == 0
    book.check()


def test_an_unknown_repayment_is_ignored(book: Book) -> None:
    payload = {
        "order_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "event_type": "loan.repayment",
        "status": "reversed",
    }
    assert book.run(lambda s: subscribers.handle(s, payload)) == "ignored: no such repayment"


def test_no_replay_across_a_prepayment_that_rebuilt_the_schedule(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    book.set_date(FEB[15])
    first = book.repay(loan.id, FIRST)
    book.set_date(MAR_1)
    book.repay(loan.id, 3_000_00, RepaymentPurpose.PREPAYMENT)  # reduces the installment
    before = book.loan(loan.id)
    # A back-dated repayment before the rebuild is refused, naming the field.
    with pytest.raises(ValidationFailed) as refused:
        backdated(book, loan.id, 100_00, FEB[20])
    assert [e.field for e in refused.value.errors] == ["effective_date"]
    assert "2026-03-02" in refused.value.detail
    # The channel reverses the first repayment: the loan cannot be replayed across the
    # rebuild; the repayment stays applied with a note for staff, the loan side books nothing.
    reverse(book, first)
    kept = book.repayment(loan.id, first.id)
    assert kept.status == "applied"
    assert kept.note is not None
    assert "replay refused" in kept.note
    after = book.loan(loan.id)
    assert after.outstanding == before.outstanding
    assert TransactionKind.REVERSAL.value not in kinds(book, loan.id)
    book.check()
