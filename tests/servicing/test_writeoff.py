"""Write-off through maker-checker on both databases: every receivable off the books against
the loan's provision first and write-off expense for the rest, balances and provision to
zero, installments closed, the loan final; no repayments after; refusals in illegal states.
The sub-ledger (provisions included) equals the ledger after every scenario."""

from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.servicing import states
from lendbridge.servicing.errors import LoanNotRepayable
from lendbridge.servicing.models import RepaymentPurpose
from tests.servicing.conftest import Book
from tests.servicing.test_restructure import JAN_15, MAR_20, active_loan
from tests.servicing.workout_helpers import (
    ask,
    close,
    decide,
    loan_row,
    restructure,
    transactions,
    write_off,
)

RECEIVABLES = ("1303.002", "1132.003", "1122.002", "1132.004")
PROVISION, PROVISION_EXPENSE, WRITE_OFF_EXPENSE = "1304.002", "6702.001", "6702.002"


def test_a_write_off_without_provision_is_all_expense(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    result = write_off(book, loan_id)
    loan = book.loan(loan_id)
    assert loan.status == "written_off"
    assert loan.closed_on == MAR_20
    assert loan.outstanding.total == 0
    (row,) = transactions(book, loan_id, "write_off")
    # Brought current first: principal and the interest accrued to 2026-03-20 written off.
    assert row.principal == -12_000_00
    assert row.interest < 0
    assert row.amount == -row.principal - row.interest
    assert result is not None
    assert result["written_off"] == row.amount
    assert result["provision_used"] == 0
    assert result["expense"] == row.amount
    assert [book.balance(code) for code in RECEIVABLES] == [0, 0, 0, 0]
    assert book.balance(WRITE_OFF_EXPENSE) == row.amount
    assert all(r.state != "pending" for r in loan.installments)
    written = loan_row(book, loan_id)
    assert (written.written_off, written.written_off_on, written.provision) == (
        row.amount,
        MAR_20,
        0,
    )
    with pytest.raises(LoanNotRepayable):
        book.repay(loan_id, 100_00)
    book.check()


def test_the_provision_absorbs_the_loss_first(book: Book) -> None:
    loan_id = active_loan(book)
    close(book, dt.date(2026, 2, 17))
    provided = loan_row(book, loan_id).provision
    assert provided == 240_00  # special mention: 2 % of 12,000.00
    assert book.balance(PROVISION) == provided
    book.check()
    expense_before = book.balance(PROVISION_EXPENSE)
    result = write_off(book, loan_id)
    assert result is not None
    assert result["provision_used"] == provided
    (row,) = transactions(book, loan_id, "write_off")
    assert result["expense"] == row.amount - provided
    assert book.balance(PROVISION) == 0
    assert book.balance(WRITE_OFF_EXPENSE) == row.amount - provided
    assert book.balance(PROVISION_EXPENSE) == expense_before  # used, not released
    changes = transactions(book, loan_id, "provision")
    assert sum((t.details or {})["change"] for t in changes) == 0  # the provision's history
    assert loan_row(book, loan_id).provision == 0
    book.check()
    # Later closes leave the written-off loan alone.
    close(book, dt.date(2026, 2, 20))
    assert len(transactions(book, loan_id, "provision")) == len(changes)
    assert book.balance(PROVISION) == 0
    book.check()


def test_a_restructured_loan_can_be_written_off(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    restructure(book, loan_id, new_term=24, capitalise=True)
    book.set_date(dt.date(2026, 5, 1))
    write_off(book, loan_id)
    assert book.loan(loan_id).status == "written_off"
    assert [book.balance(code) for code in RECEIVABLES] == [0, 0, 0, 0]
    book.check()


def test_only_loans_that_owe_money_are_written_off(book: Book) -> None:
    customer = book.customer()
    pending = book.create(customer).id
    paid = book.disburse(book.create(customer, 6_000_00, 6).id).id
    book.repay(paid, book.quote(paid, JAN_15).total, RepaymentPurpose.PAYOFF)
    for loan_id in (pending, paid):
        with pytest.raises(states.IllegalTransition):
            ask(book, "loans.write_off", {"loan_id": str(loan_id)})
    once = active_loan(book, customer=customer)
    request_id = ask(book, "loans.write_off", {"loan_id": str(once)})
    write_off(book, once)
    with pytest.raises(states.IllegalTransition):
        decide(book, request_id)  # approved after the loan was written off: refused
    assert len(transactions(book, once, "write_off")) == 1
    book.check()
