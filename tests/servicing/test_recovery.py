"""Recoveries of written-off loans on both databases: money collected through a channel or
taken from the customer's credit balance is recovery income, booked once per idempotency
key; the loan stays written off; refusals change nothing. The sub-ledger equals the ledger
after every scenario."""

from __future__ import annotations

import uuid

import pytest

from lendbridge.kit.errors import IdempotencyConflict, ValidationFailed
from lendbridge.servicing import recovery
from lendbridge.servicing.workout_models import RecoveryStatus
from lendbridge.servicing.workout_schemas import RecoveryIn, RecoveryOut
from tests.servicing.conftest import Book
from tests.servicing.test_restructure import MAR_20, active_loan
from tests.servicing.workout_helpers import MAKER, loan_row, transactions, write_off

RECOVERY_INCOME = "6702.003"


def recover(
    book: Book, loan_id: uuid.UUID, amount: int, channel: str | None = "sim", key: str = ""
) -> tuple[RecoveryOut, bool]:
    body = RecoveryIn(amount=amount, channel=channel, note="agency collection")
    return book.run(  # type: ignore[no-any-return]
        lambda s: recovery.request_recovery(
            s, loan_id, body, idempotency_key=key or uuid.uuid4().hex, actor=MAKER
        )
    )


def written_off_loan(book: Book) -> uuid.UUID:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    write_off(book, loan_id)
    return loan_id


def test_money_collected_after_a_write_off_is_recovery_income(book: Book) -> None:
    loan_id = written_off_loan(book)
    account = book.loan(loan_id).customer_account
    first, created = recover(book, loan_id, 500_00, key="recovery-1")
    assert created
    assert (first.status, first.source, first.booked) == ("pending", "payment_order", 0)
    again, created_again = recover(book, loan_id, 500_00, key="recovery-1")
    assert (again.id, created_again) == (first.id, False)
    book.check()
    book.drain()
    (booked,) = book.run(lambda s: recovery.list_recoveries(s, loan_id))
    assert (booked.status, booked.booked, booked.booked_on) == ("booked", 500_00, MAR_20)
    assert booked.entry_id is not None
    assert book.balance(RECOVERY_INCOME) == 500_00
    assert book.balance(account) == 0
    loan = book.loan(loan_id)
    assert loan.status == "written_off"
    assert loan.outstanding.total == 0
    assert loan_row(book, loan_id).recovered == 500_00
    (row,) = transactions(book, loan_id, "recovery")
    assert (row.amount, row.principal, row.interest, row.payment_order_id) == (
        500_00,
        0,
        0,
        first.order_id,
    )
    # The same key once more, after booking: the same recovery, nothing booked twice.
    replay, _ = recover(book, loan_id, 500_00, key="recovery-1")
    assert (replay.id, replay.status) == (first.id, RecoveryStatus.BOOKED)
    book.drain()
    assert book.balance(RECOVERY_INCOME) == 500_00
    with pytest.raises(IdempotencyConflict):
        recover(book, loan_id, 600_00, key="recovery-1")
    book.check()


def test_money_left_in_the_credit_balance_is_recovered_from_it(book: Book) -> None:
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    # A repayment on its way when the loan is written off stays in the customer's balance.
    book.repay(loan_id, 300_00, drain=False)
    write_off(book, loan_id)
    book.drain()
    account = book.loan(loan_id).customer_account
    assert book.balance(account) == 300_00
    book.check()
    with pytest.raises(ValidationFailed) as too_much:
        recover(book, loan_id, 300_01, channel=None)
    assert too_much.value.errors[0].field == "amount"
    taken, _ = recover(book, loan_id, 300_00, channel=None)
    assert (taken.status, taken.source, taken.booked) == ("booked", "credit_balance", 300_00)
    assert book.balance(account) == 0
    assert book.balance(RECOVERY_INCOME) == 300_00
    book.check()


def test_a_failed_collection_books_nothing(book: Book) -> None:
    loan_id = written_off_loan(book)
    book.p.fake.will("INSUFFICIENT_FUNDS")
    out, _ = recover(book, loan_id, 500_00)
    book.drain()
    (failed,) = book.run(lambda s: recovery.list_recoveries(s, loan_id))
    assert (failed.id, failed.status, failed.booked) == (out.id, "failed", 0)
    assert book.balance(RECOVERY_INCOME) == 0
    assert transactions(book, loan_id, "recovery") == []
    book.check()


def test_only_written_off_loans_take_recoveries(book: Book) -> None:
    loan_id = active_loan(book)
    with pytest.raises(recovery.LoanNotWrittenOff):
        recover(book, loan_id, 100_00)
    assert book.run(lambda s: recovery.list_recoveries(s, loan_id)) == []
    book.check()
