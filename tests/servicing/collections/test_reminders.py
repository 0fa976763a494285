"""The reminder step of the close of business: reminders before, on and after the due date,
recorded in the close's transaction and sent after its commit through the SMS provider,
exactly once per (installment, kind, offset) however often the close or the sending job
runs; a rolled-back batch sends nothing; a provider failure is retried without sending twice.
And the policy's offsets themselves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import jobs
from lendbridge.kit.notify import DevelopmentSms, Message, NotificationFailed
from lendbridge.servicing.cob import reminders
from lendbridge.servicing.cob.reminders import ReminderPolicy
from lendbridge.servicing.collections import notifications
from lendbridge.servicing.collections.models import CollectionReminder, ReminderKind
from lendbridge.servicing.interest import lock_loans
from tests.servicing.collections.conftest import close, context, phone_of
from tests.servicing.conftest import Book

# 12,000.00 at 12 % over 12 months from 2026-01-15: the first installment is due 2026-02-15.
FEB_15 = dt.date(2026, 2, 15)
K = ReminderKind


def day(n: int) -> dt.date:
    """The business date ``n`` days from the first due date."""
    return FEB_15 + dt.timedelta(days=n)


def reminders_of(book: Book, loan_id: uuid.UUID) -> list[tuple[str, int, str, str]]:
    return book.run(  # type: ignore[no-any-return]
        lambda s: [
            (r.kind, r.offset_days, r.template, r.status)
            for r in s.scalars(
                select(CollectionReminder)
                .where(CollectionReminder.loan_id == loan_id)
                .order_by(CollectionReminder.business_date, CollectionReminder.id)
            )
        ]
    )


def test_the_policy_names_the_due_dates_of_a_day() -> None:
    on = dt.date(2026, 3, 1)
    offsets = ReminderPolicy().offsets(on)
    assert offsets[dt.date(2026, 3, 4)] == [(K.BEFORE, 3)]
    assert offsets[on] == [(K.ON, 0)]
    assert offsets[dt.date(2026, 2, 28)] == [(K.AFTER, 1)]
    assert offsets[dt.date(2026, 1, 30)] == [(K.AFTER, 30)]
    assert len(offsets) == 7
    assert ReminderPolicy(days_before=(), on_due_date=False, days_after=(2,)).offsets(on) == {
        dt.date(2026, 2, 27): [(K.AFTER, 2)]
    }
    with pytest.raises(ValueError, match="greater than 0"):
        ReminderPolicy(days_after=(0,))


def test_reminders_before_on_and_after_the_due_date_are_sent_once(
    book: Book, sms: DevelopmentSms
) -> None:
    customer = book.customer()
    loan = book.disburse(book.create(customer, 12_000_00, 12).id)
    phone = phone_of(book, customer)
    installment = loan.installments[0]
    owed = installment.principal_due + installment.interest_due
    close(book, day(-4))
    assert reminders_of(book, loan.id) == []
    close(book, day(-3))  # closes 2026-02-11: due in 3 days
    assert reminders_of(book, loan.id) == [("before", 3, "repayment_due_soon", "pending")]
    assert sms.sent == []  # recorded; sent by the job after the commit
    book.drain()
    assert sms.sent == [
        Message(
            phone=phone,
            template="repayment_due_soon",
            params={
                "amount": f"{owed // 100:,}.{owed % 100:02d}",
                "currency": "CNY",
                "due_date": "2026-02-15",
                "days": "3",
            },
        )
    ]
    assert "2026-02-15" in sms.sent[0].text
    # The close of the same day again, and the job again: nothing more.
    reminders.remind(context(book, day(-4)))
    jobs_run = book.drain()
    assert len(sms.sent) == 1
    assert jobs_run == 0
    close(book, day(0))  # due today
    close(book, day(3))  # 1 and 3 days overdue
    book.drain()
    assert [(m.template, m.params["days"]) for m in sms.sent] == [
        ("repayment_due_soon", "3"),
        ("repayment_due_today", "0"),
        ("repayment_overdue", "1"),
        ("repayment_overdue", "3"),
    ]
    assert all(status == "sent" for *_, status in reminders_of(book, loan.id))
    # Recording a reminder already recorded (a close that lost its watermark) is a no-op.
    again = book.run(lambda s: reminders.record_reminders(s, lock_loans(s, [loan.id]), day(3)))
    assert again == []
    book.drain()
    assert len(sms.sent) == 4
    book.check()


def test_a_paid_installment_is_not_reminded(book: Book, sms: DevelopmentSms) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    close(book, day(0))  # reminded 3 days before and on the due date
    first = loan.installments[0]
    book.repay(loan.id, first.principal_due + first.interest_due)  # paid on the due date
    assert book.loan(loan.id).installments[0].state == "paid"
    close(book, day(3))
    book.drain()
    assert [k for k, *_ in reminders_of(book, loan.id)] == ["before", "on"]  # never "after"
    assert [m.template for m in sms.sent] == ["repayment_due_soon", "repayment_due_today"]
    book.check()


def test_a_rolled_back_batch_sends_nothing(book: Book, sms: DevelopmentSms) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    close(book, day(-3))
    book.drain()
    before = reminders_of(book, loan.id)
    assert [m.template for m in sms.sent] == ["repayment_due_soon"]

    def record_then_fail(session: Session) -> None:
        recorded = reminders.record_reminders(session, lock_loans(session, [loan.id]), day(0))
        assert len(recorded) == 1  # recorded, and its sending queued, in this transaction
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        book.run(record_then_fail)
    assert book.drain() == 0
    assert [m.template for m in sms.sent] == ["repayment_due_soon"]  # nothing more
    assert reminders_of(book, loan.id) == before
    assert book.run(lambda s: jobs.pending(s, [notifications.JOB])) == 0


class FailsOnce:
    """A provider whose first send fails (the gateway is down), then records."""

    def __init__(self) -> None:
        self.inner = DevelopmentSms()
        self.failed = 0

    def send(self, message: Message) -> None:
        if not self.failed:
            self.failed += 1
            raise NotificationFailed("the SMS gateway could not be reached")
        self.inner.send(message)


def test_a_failed_send_is_retried_and_sent_once(book: Book) -> None:
    provider = FailsOnce()
    previous = notifications.configure(provider)
    try:
        borrowers = [book.customer(who) for who in ("zhang", "li")]
        loans = [book.disburse(book.create(b, 12_000_00, 12).id) for b in borrowers]
        close(book, day(-3))
        book.drain()  # the job fails on the first, is retried, sends both
        assert provider.failed == 1
        assert sorted(m.phone for m in provider.inner.sent) == sorted(
            phone_of(book, b) for b in borrowers
        )
        for loan in loans:
            assert [s for *_, s in reminders_of(book, loan.id)] == ["sent"]
        book.drain()
        assert len(provider.inner.sent) == 2
    finally:
        notifications.configure(previous)
