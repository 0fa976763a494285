"""Back-dated repayments replayed in date order, on both databases: a repayment recorded on
the due date after penalties were charged for later days takes them back; two repayments
out of order are applied in date order with the penalties in between recomputed; a replay with
nothing after it only applies; a retried outcome books nothing twice; bad requests are refused
naming ``effective_date`` and book nothing. The ledger only grows (reversal entries), and the
sub-ledger equals the ledger after every scenario."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import DomainError, ValidationFailed
from lendbridge.ledger.models import Entry
from lendbridge.servicing import repayments, subscribers
from lendbridge.servicing.cob import runner, steps  # noqa: F401  (registers the steps)
from lendbridge.servicing.errors import LoanNotRepayable
from lendbridge.servicing.loan_schemas import LoanDetailOut, RepaymentIn, RepaymentOut
from lendbridge.servicing.models import (
    LoanRepayment,
    LoanTransaction,
    RepaymentPurpose,
    TransactionKind,
)
from lendbridge.servicing.replay_backdate import PERMISSION, BackdateNotPermitted
from tests.identity.factories import bearer
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15: installment 1 (946.19 principal, 120.00
# interest) is due 2026-02-15. Penalty 0.05 % a day, no grace: 946.19 -> 0.47 a day.
FEB = {d: dt.date(2026, 2, d) for d in range(14, 29)}
FIRST_PRINCIPAL, FIRST_INTEREST = 946_19, 120_00
FIRST = FIRST_PRINCIPAL + FIRST_INTEREST
STAFF = Actor(user_id="staff-finance", roles=("finance",), permissions=frozenset({PERMISSION}))


# The close's steps but those that send orders or messages (collections, reminders,
# promises): the loans' own day (accrual, delinquency, penalty, provision), whatever their
# step names.
NOT_LOANS_DAY = ("loans.collect", "loans.remind", "loans.promises")


def close_to(book: Book, day: dt.date) -> None:
    """Close every business day before ``day``."""
    chosen = [s for s in runner.registered_steps() if s.name not in NOT_LOANS_DAY]
    runner.run_cob(book.factory, day, steps=chosen)


def penalty_loan(book: Book, product: str = "LOAN-PEN") -> LoanDetailOut:
    code = book.product(code=product, penalty={"basis": "daily_rate", "daily_rate_percent": "0.05"})
    return book.disburse(book.create(book.customer(), 12_000_00, 12, product_code=code).id)


def backdated(
    book: Book,
    loan_id: uuid.UUID,
    amount: int,
    effective: dt.date,
    *,
    actor: Actor = STAFF,
    purpose: RepaymentPurpose = RepaymentPurpose.INSTALLMENTS,
) -> RepaymentOut:
    """Staff record a repayment the customer made on ``effective``; the order succeeds."""
    body = RepaymentIn(channel="sim", purpose=purpose, amount=amount, effective_date=effective)
    key = uuid.uuid4().hex
    out, _ = book.run(
        lambda s: repayments.request_repayment(s, loan_id, body, idempotency_key=key, actor=actor)
    )
    book.drain()
    return book.repayment(loan_id, out.id)


def live_penalties(book: Book, loan_id: uuid.UUID) -> list[tuple[dt.date, int]]:
    """The loan's penalty days that no reversal undid, by date."""

    def read(session: object) -> list[tuple[dt.date, int]]:
        t = LoanTransaction
        rows = list(
            session.scalars(  # type: ignore[attr-defined]
                select(t).where(t.loan_id == loan_id).order_by(t.effective_date, t.id)
            )
        )
        undone = {r.details["reverses"] for r in rows if r.kind == TransactionKind.REVERSAL.value}
        return [
            (r.effective_date, r.penalty)
            for r in rows
            if r.kind == TransactionKind.PENALTY.value and str(r.id) not in undone
        ]

    return book.run(read)  # type: ignore[no-any-return]


def kinds(book: Book, loan_id: uuid.UUID) -> dict[str, int]:
    def read(session: object) -> dict[str, int]:
        t = LoanTransaction
        stmt = select(t.kind, func.count()).where(t.loan_id == loan_id).group_by(t.kind)
        return dict(session.execute(stmt).all())  # type: ignore[attr-defined]

    return book.run(read)  # type: ignore[no-any-return]


def reversal_entries(book: Book) -> int:
    """Ledger entries a replay booked to reverse others (by ``reverse_entry`` or, for an
    entry shared with other loans, a counter-entry)."""
    stmt = select(func.count()).select_from(Entry).where(Entry.description.like("%replay (%"))
    return book.run(lambda s: s.scalar(stmt))  # type: ignore[no-any-return]


def row(loan: LoanDetailOut, number: int):  # type: ignore[no-untyped-def]
    return next(r for r in loan.installments if r.number == number)


def test_paid_on_the_due_date_takes_back_the_later_penalties(book: Book) -> None:
    loan = penalty_loan(book)
    close_to(book, FEB[20])  # closes 02-15 … 02-19: penalty 0.47 for 02-16 … 02-19
    assert live_penalties(book, loan.id) == [(FEB[d], 47) for d in (16, 17, 18, 19)]
    assert book.loan(loan.id).status == "overdue"
    book.check()
    paid = backdated(book, loan.id, FIRST, FEB[15])
    assert (paid.status, paid.effective_date, paid.applied, paid.to_credit) == (
        "applied",
        FEB[15],
        FIRST,
        0,
    )
    after = book.loan(loan.id)
    assert live_penalties(book, loan.id) == []
    assert kinds(book, loan.id)[TransactionKind.REVERSAL.value] == 4
    assert reversal_entries(book) == 4  # each penalty entry reversed, none changed
    first = row(after, 1)
    assert (first.state, first.paid_on, first.penalty_due) == ("paid", FEB[15], 0)
    assert (first.principal_paid, first.interest_paid) == (FIRST_PRINCIPAL, FIRST_INTEREST)
    assert (after.outstanding.penalty, after.status, after.dpd) == (0, "active", 0)
    assert book.balance("1132.004") == 0
    assert book.balance("6011.002") == 0  # the penalty income taken back
    book.check()
    close_to(book, FEB[22])
    after = book.loan(loan.id)
    assert (after.status, after.dpd, after.delinquency_bucket) == ("active", 0, "current")
    assert live_penalties(book, loan.id) == []
    book.check()


def test_two_repayments_out_of_order_are_applied_in_date_order(book: Book) -> None:
    loan = penalty_loan(book)
    close_to(book, FEB[20])
    # On 02-20: 500.00 pays the penalties (1.88), the interest, then 378.12 of principal.
    late = book.repay(loan.id, 500_00)
    assert (late.effective_date, late.applied) == (FEB[20], 500_00)
    book.check()
    # The bank statement shows 600.00 paid on 02-17: it pays the penalty of 02-16 (0.47), the
    # interest and 479.53 of principal; 466.66 is overdue from 02-17 (0.23 a day); the 500.00
    # of 02-20 then pays 0.69 of penalties and the 466.66: 32.65 stays in credit.
    early = backdated(book, loan.id, 600_00, FEB[17])
    assert (early.effective_date, early.applied, early.to_credit) == (FEB[17], 600_00, 0)
    late = book.repayment(loan.id, late.id)
    assert (late.status, late.effective_date, late.applied, late.to_credit) == (
        "applied",
        FEB[20],
        467_35,
        32_65,
    )
    assert live_penalties(book, loan.id) == [
        (FEB[16], 47),
        (FEB[17], 23),
        (FEB[18], 23),
        (FEB[19], 23),
    ]
    after = book.loan(loan.id)
    first = row(after, 1)
    assert (first.state, first.paid_on, first.penalty_due, first.penalty_paid) == (
        "paid",
        FEB[20],
        116,
        116,
    )
    assert after.outstanding.penalty == 0
    assert book.balance(after.customer_account) == 32_65
    book.check()


def test_a_back_dated_repayment_with_nothing_after_it_only_applies(book: Book) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    book.set_date(FEB[16])
    entries = reversal_entries(book)
    paid = backdated(book, loan.id, FIRST, FEB[15])
    assert (paid.effective_date, paid.applied) == (FEB[15], FIRST)
    assert TransactionKind.REVERSAL.value not in kinds(book, loan.id)
    assert reversal_entries(book) == entries
    first = row(book.loan(loan.id), 1)
    assert (first.state, first.paid_on) == ("paid", FEB[15])
    book.check()
    # The outcome delivered again books nothing.
    before = kinds(book, loan.id)
    order_id = paid.order_id
    assert order_id is not None
    payload = {
        "order_id": str(order_id),
        "event_id": str(paid.id),
        "event_type": repayments.EVENT_TYPE,
        "status": "succeeded",
    }
    effect = book.run(lambda s: subscribers.handle(s, payload))
    assert effect == "ignored: the repayment is applied"
    assert kinds(book, loan.id) == before
    book.check()


def test_bad_back_dated_requests_are_refused_naming_the_field(book: Book) -> None:
    loan = penalty_loan(book)
    book.set_date(FEB[16])

    def ask(effective: dt.date, actor: Actor = STAFF, **kw: object) -> DomainError:
        body = RepaymentIn(
            channel="sim",
            amount=100_00,
            effective_date=effective,
            **kw,  # type: ignore[arg-type]
        )
        with pytest.raises(DomainError) as refused:
            book.run(
                lambda s: repayments.request_repayment(
                    s, loan.id, body, idempotency_key=uuid.uuid4().hex, actor=actor
                )
            )
        return refused.value

    before = loan.disbursed_on - dt.timedelta(days=1)  # type: ignore[operator]
    for refusal, kind, text in (
        (ask(FEB[17]), ValidationFailed, "after the business date"),
        (ask(before), ValidationFailed, "before the loan's disbursement"),
        (ask(FEB[15], purpose=RepaymentPurpose.PREPAYMENT), ValidationFailed, "installments"),
        (
            ask(FEB[15], Actor(user_id="clerk", permissions=frozenset())),
            BackdateNotPermitted,
            PERMISSION,
        ),
    ):
        assert isinstance(refusal, kind)
        assert [e.field for e in refusal.errors] == ["effective_date"]
        assert "effective_date" in refusal.detail
        assert text in refusal.detail
    # A closed loan.
    book.repay(loan.id, FIRST)
    book.repay(loan.id, None, RepaymentPurpose.PAYOFF)
    assert book.loan(loan.id).status == "paid_off"
    closed = ask(FEB[15])
    assert isinstance(closed, LoanNotRepayable)
    assert [e.field for e in closed.errors] == ["effective_date"]
    # Nothing was booked for any of them: only the payoff is a repayment.
    count = book.run(
        lambda s: s.scalar(
            select(func.count()).select_from(LoanRepayment).where(LoanRepayment.loan_id == loan.id)
        )
    )
    assert count == 2
    book.check()


def test_over_http_a_bad_effective_date_is_a_problem_naming_it(
    client: TestClient, book: Book, engine: Any
) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    with Session(engine) as session:
        finance = bearer(client.app, session, "finance")  # type: ignore[arg-type]
        service = bearer(client.app, session, "customer_service")  # type: ignore[arg-type]
    url = f"/v1/loans/{loan.id}/repayments"
    body = {"channel": "sim", "amount": 100_00, "effective_date": "2026-01-16"}
    for headers, status, code in (
        (finance, 422, "validation_failed"),
        (service, 403, "permission_denied"),
    ):
        answer = client.post(
            url, json=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex}
        )
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == code
        assert [e["field"] for e in problem["errors"]] == ["effective_date"]
    assert client.get(url, headers=finance).json() == []
    book.check()
