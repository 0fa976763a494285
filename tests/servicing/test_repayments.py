"""Repayments on both databases, from the payment order to the loan: partial and full
installments, overpayment kept in the customer's credit balance, prepayment reducing the
installment or the term (with the product's fee and waiting period), payoff at the quote,
refusals — and after every step payments, the ledger and the loan sub-ledger agree."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lendbridge.kit.errors import IdempotencyConflict, ValidationFailed
from lendbridge.payments import orders
from lendbridge.payments.models import OrderKind
from lendbridge.servicing import repayments
from lendbridge.servicing.accounting import FEE_INCOME, INTEREST, PRINCIPAL
from lendbridge.servicing.errors import LoanNotRepayable
from lendbridge.servicing.loan_schemas import LoanDetailOut, RepaymentIn
from lendbridge.servicing.models import RepaymentPurpose
from tests.conftest import TODAY
from tests.servicing.conftest import ACTOR, Book

PREPAY, PAYOFF = RepaymentPurpose.PREPAYMENT, RepaymentPurpose.PAYOFF
# 12,000.00 at 12 % over 12 months from 2026-01-15 (equal installments): the first
# installment is 946.19 of principal and 120.00 of interest, due 2026-02-15.
FIRST_PRINCIPAL, FIRST_INTEREST = 946_19, 120_00
FIRST = FIRST_PRINCIPAL + FIRST_INTEREST
FEB_15, MAR_1, MAR_15 = dt.date(2026, 2, 15), dt.date(2026, 3, 1), dt.date(2026, 3, 15)


def active_loan(book: Book, product_code: str = "LOAN-EI", **kw: object) -> LoanDetailOut:
    loan = book.create(book.customer(), 12_000_00, 12, product_code=product_code, **kw)
    return book.disburse(loan.id)


def row(loan: LoanDetailOut, number: int):
    return next(r for r in loan.installments if r.number == number)


def open_principal(loan: LoanDetailOut) -> int:
    return sum(
        r.principal_due - r.principal_paid for r in loan.installments if r.state == "pending"
    )


def test_a_partial_payment_then_the_rest_of_the_installment(book: Book) -> None:
    loan = active_loan(book)
    assert (row(loan, 1).principal_due, row(loan, 1).interest_due) == (
        FIRST_PRINCIPAL,
        FIRST_INTEREST,
    )
    book.set_date(FEB_15)
    part = book.repay(loan.id, 500_00)
    assert (part.status, part.applied, part.to_credit, part.effective_date) == (
        "applied",
        500_00,
        0,
        FEB_15,
    )
    after = book.loan(loan.id)
    first = row(after, 1)
    # penalty -> fee -> interest -> principal: the interest first, the rest to principal
    assert (first.interest_paid, first.principal_paid, first.state) == (120_00, 380_00, "pending")
    assert after.outstanding.principal == 12_000_00 - 380_00
    assert after.outstanding.interest == 0  # accrued to the due date, and paid
    assert after.interest_accrued_to == FEB_15
    assert book.balance(after.customer_account) == 0
    book.check()
    rest = book.repay(loan.id, FIRST - 500_00)
    assert rest.applied == FIRST - 500_00
    done = book.loan(loan.id)
    assert row(done, 1).state == "paid"
    assert row(done, 1).paid_on == FEB_15
    assert done.outstanding.principal == 12_000_00 - FIRST_PRINCIPAL
    assert done.status == "active"
    book.check()


def test_an_overpayment_stays_in_the_customers_credit_balance(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    paid = book.repay(loan.id, 2_000_00)
    assert (paid.applied, paid.to_credit) == (FIRST, 2_000_00 - FIRST)
    assert book.balance(loan.customer_account) == 2_000_00 - FIRST
    after = book.loan(loan.id)
    assert row(after, 1).state == "paid"
    assert row(after, 2).principal_paid == 0  # not due: no early payment of the next one
    book.check()


def test_money_before_anything_is_due_waits_in_the_credit_balance(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(TODAY + dt.timedelta(days=5))
    early = book.repay(loan.id, 300_00)
    assert (early.applied, early.to_credit) == (0, 300_00)
    after = book.loan(loan.id)
    # Interest was recognised to the repayment's date on the way: 5 of the period's 31 days.
    assert after.outstanding.interest == round(FIRST_INTEREST * 5 / 31)
    assert book.balance(INTEREST) == after.outstanding.interest
    book.check()


def test_prepayment_reduces_the_installment(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    book.repay(loan.id, FIRST)
    before = book.loan(loan.id)
    book.set_date(MAR_1)  # 14 days into the 28-day second period
    prepaid = book.repay(loan.id, 3_000_00, PREPAY)
    assert (prepaid.applied, prepaid.to_credit) == (3_000_00, 0)
    after = book.loan(loan.id)
    earned = round(row(before, 2).interest_due * 14 / 28)
    assert row(after, 2).interest_paid == earned  # the period's interest so far, paid now
    principal = 3_000_00 - earned
    assert after.outstanding.principal == before.outstanding.principal - principal
    assert open_principal(after) == after.outstanding.principal
    pending = [r for r in after.installments if r.state == "pending"]
    assert len(pending) == 11  # the same number of installments ...
    assert after.maturity_date == before.maturity_date
    third_before, third_after = row(before, 3), row(after, 3)
    assert third_after.principal_due + third_after.interest_due < (
        third_before.principal_due + third_before.interest_due
    )  # ... each of them smaller
    book.check()
    # The second installment: what it earned to 1 March plus the new balance's share of the
    # rest of the period, accrued exactly to its due date.
    book.set_date(MAR_15)
    second = row(after, 2)
    owed = second.principal_due + second.interest_due - second.interest_paid
    book.repay(loan.id, owed)
    paid = book.loan(loan.id)
    assert row(paid, 2).state == "paid"
    assert row(paid, 2).interest_accrued == row(paid, 2).interest_due
    assert paid.outstanding.interest == 0
    book.check()


def test_prepayment_reduces_the_term(book: Book) -> None:
    book.product(code="LOAN-RT", prepayment={"mode": "reduce_term"})
    loan = active_loan(book, "LOAN-RT")
    book.set_date(FEB_15)
    book.repay(loan.id, FIRST)
    before = book.loan(loan.id)
    book.set_date(MAR_1)
    book.repay(loan.id, 3_000_00, PREPAY)
    after = book.loan(loan.id)
    pending = [r for r in after.installments if r.state == "pending"]
    cancelled = [r for r in after.installments if r.state == "cancelled"]
    assert len(pending) < 11
    assert len(pending) + len(cancelled) == 11
    assert after.maturity_date < before.maturity_date
    assert after.maturity_date == pending[-1].due_date
    level = row(before, 3).principal_due + row(before, 3).interest_due
    third = row(after, 3)
    assert third.principal_due + third.interest_due <= level  # the installment is kept
    assert open_principal(after) == after.outstanding.principal
    book.check()


def test_prepayment_waits_for_the_products_installments_and_pays_its_fee(book: Book) -> None:
    book.product(code="LOAN-PF", prepayment={"allowed_after": 1, "fee": {"percent": "1"}})
    loan = active_loan(book, "LOAN-PF")
    with pytest.raises(ValidationFailed) as refused:
        book.repay(loan.id, 1_000_00, PREPAY)
    assert [e.field for e in refused.value.errors] == ["purpose"]
    book.set_date(FEB_15)
    book.repay(loan.id, FIRST)
    before = book.loan(loan.id)
    prepaid = book.repay(loan.id, 1_010_00, PREPAY)  # on the due date: no interest earned yet
    after = book.loan(loan.id)
    assert prepaid.applied == 1_010_00
    assert before.outstanding.principal - after.outstanding.principal == 1_000_00
    assert book.balance(FEE_INCOME) == 10_00  # 1 % of the principal prepaid
    book.check()


def test_payoff_at_the_quote_closes_the_loan(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    book.repay(loan.id, FIRST)
    book.set_date(MAR_1)
    quote = book.quote(loan.id, MAR_1)
    second_interest = row(book.loan(loan.id), 2).interest_due
    assert quote.principal == 12_000_00 - FIRST_PRINCIPAL
    assert quote.interest == round(second_interest * 14 / 28)
    assert (quote.fee, quote.penalty, quote.prepayment_fee) == (0, 0, 0)
    assert quote.total == quote.principal + quote.interest
    assert quote.prepayment_allowed
    with pytest.raises(ValidationFailed) as below:
        book.repay(loan.id, quote.total - 1, PAYOFF)
    assert [e.field for e in below.value.errors] == ["amount"]
    paid = book.repay(loan.id, None, PAYOFF)
    assert (paid.amount, paid.applied, paid.to_credit) == (quote.total, quote.total, 0)
    closed = book.loan(loan.id)
    assert closed.status == "paid_off"
    assert closed.closed_on == MAR_1
    assert closed.outstanding.total == 0
    assert {r.state for r in closed.installments} == {"paid", "cancelled"}
    for code in (PRINCIPAL, INTEREST):
        assert book.balance(code) == 0
    assert book.balance(closed.customer_account) == 0
    book.check()
    with pytest.raises(LoanNotRepayable):
        book.repay(loan.id, 100_00)
    with pytest.raises(LoanNotRepayable):
        book.quote(loan.id, MAR_1)


def test_money_arriving_for_a_closed_loan_stays_in_the_credit_balance(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    payoff = book.repay(loan.id, None, PAYOFF, drain=False)
    late = book.repay(loan.id, 100_00, drain=False)
    book.drain()
    assert book.repayment(loan.id, payoff.id).applied == payoff.amount
    arrived = book.repayment(loan.id, late.id)
    assert (arrived.status, arrived.applied, arrived.to_credit) == ("applied", 0, 100_00)
    assert arrived.note is not None
    assert book.loan(loan.id).status == "paid_off"
    assert book.balance(book.loan(loan.id).customer_account) == 100_00
    book.check()


def test_paying_every_installment_on_its_due_date_pays_the_loan_off(book: Book) -> None:
    created = book.create(book.customer(), 3_000_00, 3)
    loan = book.disburse(created.id)
    for number in (1, 2, 3):
        current = row(book.loan(loan.id), number)
        book.set_date(current.due_date)
        book.repay(loan.id, current.principal_due + current.interest_due)
        book.check()
    done = book.loan(loan.id)
    assert done.status == "paid_off"
    assert sum(r.interest_paid for r in done.installments) == sum(
        r.interest_due for r in loan.installments
    )
    assert [t.to_status for t in done.transitions][-1] == "paid_off"


def test_a_failed_repayment_order_changes_nothing(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    book.p.fake.will("INSUFFICIENT_FUNDS")
    failed = book.repay(loan.id, FIRST)
    assert (failed.status, failed.applied) == ("failed", 0)
    assert failed.note is not None
    after = book.loan(loan.id)
    assert row(after, 1).principal_paid == 0
    assert book.balance(after.customer_account) == 0
    book.check()


def test_repayment_requests_are_idempotent_and_checked(book: Book) -> None:
    loan = active_loan(book)
    body = RepaymentIn(channel="sim", amount=100_00)

    def ask(request: RepaymentIn, key: str = "r1") -> tuple[object, bool]:
        return book.run(  # type: ignore[no-any-return]
            lambda s: repayments.request_repayment(
                s, loan.id, request, idempotency_key=key, actor=ACTOR
            )
        )

    (first, created), (again, created_again) = ask(body), ask(body)
    assert (created, created_again) == (True, False)
    assert first == again
    with pytest.raises(IdempotencyConflict):
        ask(body.model_copy(update={"amount": 200_00}))
    with pytest.raises(ValidationFailed) as missing:
        ask(RepaymentIn(channel="sim"), key="r2")
    assert [e.field for e in missing.value.errors] == ["amount"]
    with pytest.raises(ValidationFailed) as channel:
        ask(RepaymentIn(channel="nosuch", amount=100_00), key="r3")
    assert [e.field for e in channel.value.errors] == ["channel"]
    book.drain()
    book.check()


def test_a_pending_loan_takes_no_repayment(book: Book) -> None:
    loan = book.create(book.customer())
    with pytest.raises(LoanNotRepayable):
        book.repay(loan.id, 100_00)
    with pytest.raises(Exception, match="no loan"):
        book.repay(uuid.uuid4(), 100_00)


def test_a_collection_under_the_debit_authorisation_is_applied_the_same_way(book: Book) -> None:
    loan = active_loan(book)
    book.set_date(FEB_15)
    out, _ = book.run(
        lambda s: repayments.request_repayment(
            s,
            loan.id,
            RepaymentIn(channel="sim", amount=FIRST),
            idempotency_key="c1",
            actor=ACTOR,
            kind=OrderKind.COLLECTION,
            authorisation_ref="mandate-1",
        )
    )
    order = book.run(lambda s: orders.get_order(s, out.order_id))
    assert (order.kind, order.authorisation_ref) == (OrderKind.COLLECTION, "mandate-1")
    book.drain()
    assert book.repayment(loan.id, out.id).applied == FIRST
    assert row(book.loan(loan.id), 1).state == "paid"
    book.check()
