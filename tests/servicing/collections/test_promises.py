"""Promises to pay settled by the close of business: kept when the loan received repayments
reaching the amount since the promise was made, broken otherwise, once, on the close of the
promised date; a cancelled promise is not settled; a rerun changes nothing. And the refusals
of the service (the loan must take repayments; the date may not be past)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from lendbridge.audit.models import AuditRecord
from lendbridge.kit.actor import system_actor
from lendbridge.kit.errors import ValidationFailed
from lendbridge.servicing.cob import promises as promise_step
from lendbridge.servicing.collections import promises
from lendbridge.servicing.collections.errors import PromiseNotOpen
from lendbridge.servicing.collections.schemas import PromiseIn, PromiseOut
from lendbridge.servicing.errors import LoanNotRepayable
from tests.servicing.collections.conftest import close, context
from tests.servicing.conftest import Book

ACTOR = system_actor("tests")
FEB_16, FEB_18, FEB_20 = dt.date(2026, 2, 16), dt.date(2026, 2, 18), dt.date(2026, 2, 20)


def promise(book: Book, loan_id: uuid.UUID, amount: int, on: dt.date) -> PromiseOut:
    key = uuid.uuid4().hex
    out, _ = book.run(
        lambda s: promises.make_promise(
            s,
            loan_id,
            PromiseIn(amount=amount, promised_date=on),
            idempotency_key=key,
            actor=ACTOR,
        )
    )
    return out  # type: ignore[no-any-return]


def status_of(book: Book, loan_id: uuid.UUID) -> list[tuple[str, int | None, dt.date | None]]:
    return [
        (p.status.value, p.received, p.evaluated_on)
        for p in reversed(book.run(lambda s: promises.list_promises(s, loan_id)))
    ]


def test_promises_are_kept_or_broken_by_the_close_after_their_date(book: Book) -> None:
    kept_loan = book.disburse(book.create(book.customer("zhang"), 12_000_00, 12).id)
    broken_loan = book.disburse(book.create(book.customer("li"), 12_000_00, 12).id)
    close(book, FEB_16)  # the first installments are a day overdue; nothing is collected
    assert book.loan(kept_loan.id).status == "overdue"
    promise(book, kept_loan.id, 500_00, FEB_18)
    promise(book, broken_loan.id, 500_00, FEB_18)
    cancelled = promise(book, broken_loan.id, 100_00, FEB_18)
    book.run(lambda s: promises.cancel_promise(s, broken_loan.id, cancelled.id, ACTOR))
    book.repay(kept_loan.id, 300_00)
    book.repay(kept_loan.id, 200_00)
    book.repay(broken_loan.id, 499_99)
    close(book, FEB_18)  # closes 2026-02-17: the promised date has not passed
    assert status_of(book, kept_loan.id) == [("open", None, None)]
    close(book, dt.date(2026, 2, 19))  # closes the promised date
    assert status_of(book, kept_loan.id) == [("kept", 500_00, FEB_18)]
    assert status_of(book, broken_loan.id) == [
        ("broken", 499_99, FEB_18),
        ("cancelled", None, None),
    ]
    # Running the step again settles nothing twice.
    promise_step.promises(context(book, FEB_18))
    settled = book.run(
        lambda s: s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(
                AuditRecord.action.in_(["collections.promise.kept", "collections.promise.broken"])
            )
        )
    )
    assert settled == 2
    with pytest.raises(PromiseNotOpen):
        book.run(lambda s: promises.cancel_promise(s, broken_loan.id, cancelled.id, ACTOR))
    book.check()


def test_a_promise_needs_a_repayable_loan_and_a_date_not_past(book: Book) -> None:
    pending = book.create(book.customer(), 12_000_00, 12)
    with pytest.raises(LoanNotRepayable):
        promise(book, pending.id, 100_00, FEB_20)
    loan = book.disburse(pending.id)
    with pytest.raises(ValidationFailed) as refused:
        promise(book, loan.id, 100_00, book.today() - dt.timedelta(days=1))
    assert [e.field for e in refused.value.errors] == ["promised_date"]
    today = promise(book, loan.id, 100_00, book.today())
    assert (today.status.value, today.currency) == ("open", "CNY")
    book.check()
