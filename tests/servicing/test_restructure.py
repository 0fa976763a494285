"""Restructure through maker-checker on both databases: a new schedule for the outstanding
amount at a new term or rate, owed interest carried or capitalised, the APR cap, refusals in
illegal states, a rejected or own request, and a restructured loan living on through the
close of business to its payoff; the sub-ledger equals the ledger after every scenario."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lendbridge.approvals.service import OwnRequest
from lendbridge.kit.errors import ValidationFailed
from lendbridge.servicing import loans, states
from lendbridge.servicing.models import RepaymentPurpose
from lendbridge.servicing.restructure import NothingToRestructure
from tests.servicing.conftest import Book
from tests.servicing.workout_helpers import (
    MAKER,
    ask,
    close,
    decide,
    loan_row,
    restructure,
    transactions,
)

# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments, due on the 15th).
JAN_15, MAR_20, APR_15 = dt.date(2026, 1, 15), dt.date(2026, 3, 20), dt.date(2026, 4, 15)
PRINCIPAL, INTEREST, PENALTY = "1303.002", "1132.003", "1132.004"


def active_loan(
    book: Book,
    amount: int = 12_000_00,
    term: int = 12,
    product_code: str = "LOAN-EI",
    customer: uuid.UUID | None = None,
) -> uuid.UUID:
    borrower = customer or book.customer()
    loan = book.disburse(book.create(borrower, amount, term, product_code=product_code).id)
    assert loan.status == "active"
    assert loan.start_date == JAN_15
    return loan.id


def test_a_new_term_reschedules_the_principal_and_carries_the_interest(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)  # two installments unpaid, a third running
    before = book.loan(loan_id)
    result = restructure(book, loan_id, new_term=24)
    assert result is not None
    assert result["status"] == "restructured"
    loan = book.loan(loan_id)
    assert loan.status == "restructured"
    assert [t.to_status for t in loan.transitions][-1] == "restructured"
    # Brought current to 2026-03-20: interest accrued, none of it capitalised.
    owed_interest = loan.outstanding.interest
    assert owed_interest > before.outstanding.interest
    assert loan.outstanding.principal == 12_000_00
    old = [r for r in loan.installments if r.number <= 12]
    new = [r for r in loan.installments if r.number > 12]
    assert all(r.state == "cancelled" for r in old)
    assert [r.number for r in new] == list(range(13, 37))
    assert sum(r.principal_due for r in new) == 12_000_00  # the schedule sums to what is owed
    assert new[0].start_date == MAR_20
    assert new[0].due_date == APR_15
    assert new[-1].due_date == dt.date(2028, 3, 15)
    assert loan.maturity_date == dt.date(2028, 3, 15)
    # The owed interest falls due with the first new installment, already accrued.
    assert new[0].interest_accrued == owed_interest
    assert new[0].interest_due > owed_interest
    (move,) = transactions(book, loan_id, "restructure")
    assert (move.amount, move.principal, move.interest, move.entry_id) == (0, 0, 0, None)
    assert move.details is not None
    assert move.details["new"]["term"] == 24
    row = loan_row(book, loan_id)
    assert (row.restructure_count, row.restructured_on) == (1, MAR_20)
    assert row.accrual_installment == 13
    book.check()


def test_capitalised_interest_becomes_principal_at_a_new_rate(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    restructure(book, loan_id, new_term=12, new_annual_rate_percent="9.5", capitalise=True)
    loan = book.loan(loan_id)
    (move,) = transactions(book, loan_id, "restructure")
    capitalised = move.amount
    assert capitalised > 0
    assert move.entry_id is not None
    assert (move.principal, move.interest, move.fee, move.penalty) == (
        capitalised,
        -capitalised,
        0,
        0,
    )
    assert loan.outstanding.principal == 12_000_00 + capitalised
    assert loan.outstanding.interest == 0
    assert loan.annual_rate_percent == "9.5"
    new = [r for r in loan.installments if r.state == "pending"]
    assert len(new) == 12
    assert sum(r.principal_due for r in new) == 12_000_00 + capitalised
    assert (book.balance(PRINCIPAL), book.balance(INTEREST)) == (12_000_00 + capitalised, 0)
    book.check()


def test_the_restructured_loan_accrues_falls_overdue_and_is_paid_off(book: Book) -> None:
    code = book.product(
        code="LOAN-PEN", penalty={"basis": "daily_rate", "daily_rate_percent": "0.05"}
    )
    loan_id = active_loan(book, product_code=code)
    close(book, MAR_20)
    assert book.loan(loan_id).status == "overdue"
    assert book.loan(loan_id).outstanding.penalty > 0
    restructure(book, loan_id, new_term=6)
    book.check()
    # Nothing is overdue any more: the next close finds it current, still restructured.
    close(book, dt.date(2026, 3, 21))
    loan = book.loan(loan_id)
    assert (loan.status, loan.dpd) == ("restructured", 0)
    book.check()
    # The first new installment passes unpaid: days past due, the status stays flagged.
    close(book, dt.date(2026, 4, 20))
    loan = book.loan(loan_id)
    assert loan.status == "restructured"
    assert loan.dpd == 5
    assert loan.interest_accrued_to == dt.date(2026, 4, 20)
    book.check()
    # Paid in full: paid off like any loan.
    quote = book.quote(loan_id, dt.date(2026, 4, 20))
    book.repay(loan_id, quote.total, RepaymentPurpose.PAYOFF)
    assert book.loan(loan_id).status == "paid_off"
    book.check()


def test_a_restructured_loan_takes_installments(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    restructure(book, loan_id, new_annual_rate_percent="6")
    loan = book.loan(loan_id)
    first = next(r for r in loan.installments if r.state == "pending")
    assert len([r for r in loan.installments if r.state == "pending"]) == 10  # not yet due
    book.set_date(first.due_date)
    due = first.principal_due + first.interest_due
    repayment = book.repay(loan_id, due)
    assert (repayment.applied, repayment.to_credit) == (due, 0)
    paid = next(r for r in book.loan(loan_id).installments if r.number == first.number)
    assert paid.state == "paid"
    book.check()


def test_rejected_and_own_requests_change_nothing(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    request_id = ask(book, "loans.restructure", {"loan_id": str(loan_id), "new_term": 6})
    with pytest.raises(OwnRequest):
        decide(book, request_id, checker=MAKER)
    assert decide(book, request_id, approve=False) is None
    loan = book.loan(loan_id)
    assert loan.status == "active"
    assert all(r.number <= 12 for r in loan.installments)
    assert transactions(book, loan_id, "restructure") == []
    book.check()


def test_terms_above_the_apr_cap_or_invalid_are_refused_at_request(book: Book) -> None:
    loan_id = active_loan(book)
    payload = {"loan_id": str(loan_id)}
    cases = [
        ({"new_annual_rate_percent": "30"}, "new_annual_rate_percent"),
        ({"new_term": 0}, "payload.new_term"),
        ({"new_term": 601}, "new_term"),
        ({}, "new_term"),
        ({"new_annual_rate_percent": "abc"}, "payload.new_annual_rate_percent"),
        ({"new_term": 6, "surprise": 1}, "payload.surprise"),
    ]
    for terms, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            ask(book, "loans.restructure", payload | terms)
        assert refused.value.errors[0].field == field, terms
    with pytest.raises(ValidationFailed) as bad_id:
        ask(book, "loans.restructure", {"loan_id": "nope", "new_term": 6})
    assert bad_id.value.errors[0].field == "payload.loan_id"
    assert book.loan(loan_id).status == "active"
    book.check()


def test_only_active_or_overdue_loans_are_restructured(book: Book) -> None:
    customer = book.customer()
    pending = book.create(customer).id
    cancelled = book.create(customer).id
    book.run(lambda s: loans.cancel_loan(s, cancelled, reason="test", actor=MAKER))
    paid = book.disburse(book.create(customer, 6_000_00, 6).id).id
    book.repay(paid, book.quote(paid, JAN_15).total, RepaymentPurpose.PAYOFF)
    assert book.loan(paid).status == "paid_off"
    for loan_id in (pending, cancelled, paid):
        with pytest.raises(states.IllegalTransition):
            ask(book, "loans.restructure", {"loan_id": str(loan_id), "new_term": 6})
    twice = active_loan(book, customer=customer)
    with pytest.raises(states.IllegalTransition):  # money left: no cancelling any more
        book.run(lambda s: loans.cancel_loan(s, twice, reason="test", actor=MAKER))
    book.set_date(MAR_20)
    restructure(book, twice, new_term=6)
    with pytest.raises(states.IllegalTransition):
        ask(book, "loans.restructure", {"loan_id": str(twice), "new_term": 3})
    book.check()


def test_a_request_approved_after_the_loan_changed_is_refused(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    first = ask(book, "loans.restructure", {"loan_id": str(loan_id), "new_term": 6})
    second = ask(book, "loans.restructure", {"loan_id": str(loan_id), "new_term": 9})
    decide(book, first)
    with pytest.raises(states.IllegalTransition):
        decide(book, second)  # the approval rolls back with it: nothing ran
    assert len(transactions(book, loan_id, "restructure")) == 1
    book.check()


def test_a_loan_owing_no_principal_has_nothing_to_restructure(book: Book) -> None:
    loan_id = active_loan(book, 6_000_00, 6)
    book.set_date(MAR_20)
    quote = book.quote(loan_id, MAR_20)
    # Pay the principal early, leave nothing but what the close would charge: simulate by
    # asking for a payoff, then check a zero-principal restructure refuses.
    book.repay(loan_id, quote.total, RepaymentPurpose.PAYOFF)
    with pytest.raises(states.IllegalTransition):
        ask(book, "loans.restructure", {"loan_id": str(loan_id), "new_term": 3})
    assert NothingToRestructure.code == "loan_nothing_to_restructure"
    book.check()


def test_a_prepayment_after_a_restructure_keeps_the_new_rate(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    restructure(book, loan_id, new_term=12, new_annual_rate_percent="6")
    first = next(r for r in book.loan(loan_id).installments if r.state == "pending")
    book.set_date(first.due_date)
    due = first.principal_due + first.interest_due
    book.repay(loan_id, due + 1_000_00, RepaymentPurpose.PREPAYMENT)
    loan = book.loan(loan_id)
    current = next(r for r in loan.installments if r.state == "pending")
    balance = loan.outstanding.principal
    assert current.interest_due == (balance * 6 + 600) // 1200  # 6 % a year, half up
    book.check()
