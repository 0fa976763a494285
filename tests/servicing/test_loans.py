"""Loans from creation to disbursement on both databases: the schedule stored, the refusals
that name the field (nothing booked), the disbursement's payment order and its outcome, the
upfront fee booked either way, retry and cancellation — and after every step payments, the
ledger and the loan sub-ledger agree."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from lendbridge.audit.models import AuditRecord
from lendbridge.identity.kyc_models import BankCard
from lendbridge.kit import jobs
from lendbridge.kit.errors import DomainError, IdempotencyConflict, ValidationFailed
from lendbridge.ledger.models import Entry
from lendbridge.payments import orders
from lendbridge.payments.channels.base import Outcome
from lendbridge.payments.models import OrderKind, OrderStatus
from lendbridge.products import service as products
from lendbridge.products.errors import ProductRetired
from lendbridge.servicing import disbursement, loans, subscribers
from lendbridge.servicing.accounting import FEE_INCOME, FEES, PRINCIPAL
from lendbridge.servicing.customers import credit_account_code
from lendbridge.servicing.errors import DisbursementInProgress
from lendbridge.servicing.loan_schemas import DisburseIn, LoanIn
from lendbridge.servicing.models import Loan, LoanTransaction
from lendbridge.servicing.schedule import Terms, build_schedule
from lendbridge.servicing.states import IllegalTransition
from tests.conftest import TODAY
from tests.servicing.conftest import ACTOR, Book

CLEARING = "3001.001"


def refusal(book: Book, body: LoanIn) -> DomainError:
    with pytest.raises(DomainError) as caught:
        book.run(lambda s: loans.create_loan(s, body, idempotency_key="k1", actor=ACTOR))
    return caught.value


def count(book: Book, model: type) -> int:
    return int(book.run(lambda s: s.scalar(select(func.count()).select_from(model))) or 0)


def test_a_new_loan_is_priced_scheduled_and_pending(book: Book) -> None:
    customer = book.customer()
    loan = book.create(customer, 12_000_00, 12)
    expected = build_schedule(
        Terms(principal=12_000_00, annual_rate_percent=Decimal(12), term=12, start=TODAY)
    )
    assert loan.status == "pending_disbursement"
    assert (loan.product_code, loan.product_version, loan.currency) == ("LOAN-EI", 1, "CNY")
    assert loan.start_date == TODAY
    assert loan.maturity_date == expected.installments[-1].due_date
    assert [(r.number, r.due_date, r.principal_due, r.interest_due) for r in loan.installments] == [
        (i.number, i.due_date, i.principal, i.interest) for i in expected.installments
    ]
    assert loan.outstanding.total == 0
    assert loan.customer_account == credit_account_code(customer)
    assert book.balance(loan.customer_account) == 0
    assert [t.to_status for t in loan.transitions] == ["pending_disbursement"]
    actions = book.run(
        lambda s: list(
            s.scalars(select(AuditRecord.action).where(AuditRecord.target_id == str(loan.id)))
        )
    )
    assert actions == ["loans.loan.created"]
    book.check()


def test_the_same_key_returns_the_first_loan_and_other_content_conflicts(book: Book) -> None:
    customer = book.customer()
    body = LoanIn(customer_id=customer, product_code="LOAN-EI", amount=5_000_00, term=6)
    first, created = book.run(
        lambda s: loans.create_loan(s, body, idempotency_key="k", actor=ACTOR)
    )
    again, created_again = book.run(
        lambda s: loans.create_loan(s, body, idempotency_key="k", actor=ACTOR)
    )
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    other = body.model_copy(update={"amount": 6_000_00})
    with pytest.raises(IdempotencyConflict):
        book.run(lambda s: loans.create_loan(s, other, idempotency_key="k", actor=ACTOR))
    assert count(book, Loan) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product_code": "NO-SUCH"}, "product_code"),
        ({"amount": 999_99}, "amount"),
        ({"amount": 50_000_01}, "amount"),
        ({"term": 5}, "term"),
        ({"bank_card_id": uuid.UUID(int=7)}, "bank_card_id"),
        ({"customer_id": uuid.UUID(int=8)}, "customer_id"),
    ],
)
def test_refusals_name_the_field_and_book_nothing(book: Book, changes, field) -> None:
    customer = book.customer()
    entries = count(book, Entry)
    body = LoanIn.model_validate(
        {"customer_id": customer, "product_code": "LOAN-EI", "amount": 5_000_00, "term": 6}
        | changes
    )
    error = refusal(book, body)
    assert isinstance(error, ValidationFailed)
    assert [e.field for e in error.errors] == [field]
    assert count(book, Loan) == 0
    assert count(book, Entry) == entries


def test_only_a_kyc_verified_customer_with_a_card_borrows(book: Book) -> None:
    unverified = book.customer("li", verify=False)
    no_card = book.customer("wang", card=False)
    for customer in (unverified, no_card):
        error = refusal(
            book, LoanIn(customer_id=customer, product_code="LOAN-EI", amount=5_000_00, term=6)
        )
        assert [e.field for e in error.errors] == ["customer_id"]
        assert "KYC" in error.detail
    verified = book.customer()
    book.run(
        lambda s: s.execute(
            update(BankCard).where(BankCard.user_id == verified).values(status="unbound")
        )
    )
    error = refusal(
        book, LoanIn(customer_id=verified, product_code="LOAN-EI", amount=5_000_00, term=6)
    )
    assert [e.field for e in error.errors] == ["bank_card_id"]
    assert count(book, Loan) == 0


def test_a_retired_product_takes_no_new_loans(book: Book) -> None:
    customer = book.customer()
    book.run(lambda s: products.retire_product(s, "LOAN-EI", ACTOR))
    error = refusal(
        book, LoanIn(customer_id=customer, product_code="LOAN-EI", amount=5_000_00, term=6)
    )
    assert isinstance(error, ProductRetired)
    assert [e.field for e in error.errors] == ["product_code"]


def test_disbursement_pays_out_and_activates_the_loan(book: Book) -> None:
    loan = book.create(book.customer(), 12_000_00, 12)
    book.check()
    out = book.disburse(loan.id, drain=False)
    assert out.status == "pending_disbursement"
    assert out.disbursement_order_id is not None
    order = book.run(lambda s: orders.get_order(s, out.disbursement_order_id))
    assert (order.kind, order.account, order.amount) == (
        OrderKind.DISBURSEMENT,
        PRINCIPAL,
        12_000_00,
    )
    assert order.party_account.endswith("5670")  # the customer's card, masked
    assert (order.event_type, order.event_id) == ("loan.disbursement", str(loan.id))
    book.check()
    book.drain()
    active = book.loan(loan.id)
    assert active.status == "active"
    assert (active.disbursed_on, active.interest_accrued_to) == (TODAY, TODAY)
    assert active.outstanding.principal == 12_000_00
    assert book.balance(PRINCIPAL) == 12_000_00
    assert book.balance(CLEARING) == -12_000_00
    assert [t.to_status for t in active.transitions] == ["pending_disbursement", "active"]
    kinds = book.run(
        lambda s: [
            (t.kind, t.principal, t.entry_id is not None)
            for t in s.scalars(select(LoanTransaction).where(LoanTransaction.loan_id == loan.id))
        ]
    )
    assert kinds == [("disbursement", 12_000_00, True)]
    book.check()


def test_a_deducted_upfront_fee_is_owed_as_principal_and_earned(book: Book) -> None:
    book.product(code="LOAN-FEE", upfront_fee={"percent": "2"}, allowed_terms=[12])
    loan = book.create(book.customer(), 10_000_00, 12, product_code="LOAN-FEE")
    assert (loan.upfront_fee, loan.disbursement_amount) == (200_00, 9_800_00)
    out = book.disburse(loan.id)
    order = book.run(lambda s: orders.get_order(s, out.disbursement_order_id))
    assert order.amount == 9_800_00  # the borrower receives the principal less the fee
    assert out.outstanding.principal == 10_000_00  # and owes the whole principal
    assert book.balance(PRINCIPAL) == 10_000_00
    assert book.balance(FEE_INCOME) == 200_00
    book.check()


def test_an_upfront_fee_paid_at_the_start_is_installment_zero(book: Book) -> None:
    book.product(
        code="LOAN-FEE0",
        upfront_fee={"fixed": 50_00, "deducted": False},
        min_amount=5_000_00,
        allowed_terms=[6, 12],
    )
    loan = book.create(book.customer(), 10_000_00, 6, product_code="LOAN-FEE0")
    assert loan.disbursement_amount == 10_000_00
    assert loan.installments[0].number == 0
    assert (loan.installments[0].fee_due, loan.installments[0].due_date) == (50_00, TODAY)
    out = book.disburse(loan.id)
    assert (out.outstanding.principal, out.outstanding.fee) == (10_000_00, 50_00)
    assert book.balance(FEES) == 50_00
    book.check()
    repaid = book.repay(loan.id, 50_00)
    assert (repaid.applied, repaid.to_credit) == (50_00, 0)
    after = book.loan(loan.id)
    assert after.outstanding.fee == 0
    assert after.installments[0].state == "paid"
    assert book.balance(FEES) == 0
    book.check()


def test_a_failed_disbursement_leaves_the_loan_pending_until_a_retry(book: Book) -> None:
    loan = book.create(book.customer())
    book.p.fake.will("CARD_FROZEN")
    failed = book.disburse(loan.id)
    assert failed.status == "pending_disbursement"
    assert failed.disbursement_error is not None
    assert failed.disbursement_error.startswith("CARD_FROZEN")
    assert book.balance(PRINCIPAL) == 0
    book.check()
    retried = book.disburse(loan.id)
    assert retried.status == "active"
    assert retried.disbursement_attempts == 2
    assert retried.disbursement_error is None
    assert book.balance(PRINCIPAL) == loan.principal
    book.check()


def test_disbursing_again_with_the_same_key_changes_nothing(book: Book) -> None:
    loan = book.create(book.customer())

    def disburse(channel: str = "sim") -> tuple[object, bool]:
        return book.run(  # type: ignore[no-any-return]
            lambda s: disbursement.disburse(
                s, loan.id, DisburseIn(channel=channel), idempotency_key="d1", actor=ACTOR
            )
        )

    (_, first), (_, second) = disburse(), disburse()
    assert (first, second) == (True, False)
    with pytest.raises(IdempotencyConflict):
        disburse("other")
    with pytest.raises(DisbursementInProgress):
        book.disburse(loan.id, drain=False)  # a new key while the order is on its way
    book.drain()
    with pytest.raises(IllegalTransition):
        book.disburse(loan.id)
    assert book.balance(PRINCIPAL) == loan.principal
    book.check()


def test_cancellation_only_before_money_leaves(book: Book) -> None:
    customer = book.customer()
    first = book.create(customer)
    cancelled = book.run(
        lambda s: loans.cancel_loan(s, first.id, reason="customer withdrew", actor=ACTOR)
    )
    assert cancelled.status == "cancelled"
    assert cancelled.closed_on == TODAY
    with pytest.raises(IllegalTransition):
        book.disburse(first.id)

    second = book.create(customer)
    book.p.fake.will("processing")
    book.disburse(second.id, drain=False)
    jobs.run_due(book.factory)  # sent; the channel is still processing
    with pytest.raises(DisbursementInProgress):
        book.run(lambda s: loans.cancel_loan(s, second.id, reason=None, actor=ACTOR))
    book.check()
    book.p.fake.finish(str(book.loan(second.id).disbursement_order_id), Outcome.SUCCEEDED)
    book.drain()
    assert book.loan(second.id).status == "active"
    with pytest.raises(IllegalTransition):
        book.run(lambda s: loans.cancel_loan(s, second.id, reason=None, actor=ACTOR))
    book.check()


def test_the_outcome_event_is_applied_once(book: Book) -> None:
    loan = book.create(book.customer())
    active = book.disburse(loan.id)
    order = book.run(lambda s: orders.get_order(s, active.disbursement_order_id))
    assert order.status == OrderStatus.SUCCEEDED
    payload = {
        "order_id": str(order.id),
        "event_type": "loan.disbursement",
        "event_id": str(loan.id),
    }
    effect = book.run(lambda s: subscribers.handle(s, payload))
    assert effect.startswith("ignored")
    assert book.loan(loan.id).version == active.version
    assert book.balance(PRINCIPAL) == loan.principal
    book.check()


def test_a_later_disbursement_day_starts_the_schedule_then(book: Book) -> None:
    loan = book.create(book.customer(), 6_000_00, 6)
    later = TODAY + dt.timedelta(days=3)
    book.set_date(later)
    active = book.disburse(loan.id)
    assert (active.start_date, active.disbursed_on) == (later, later)
    assert active.installments[0].start_date == later
    assert active.installments[0].due_date == dt.date(2026, 2, 18)
    assert active.maturity_date == dt.date(2026, 7, 18)
    book.check()
