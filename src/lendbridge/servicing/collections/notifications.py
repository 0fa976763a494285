"""Sending the reminders the close of business recorded: the job
``collections.send_reminders``, queued in the close's batch transaction (the transactional
outbox), so it runs only after that commit and never for a batch that rolled back.

Each reminder is sent in its own unit of work: its row is locked, skipped if no longer
``pending``, sent through the SMS provider, and marked ``sent`` with ``sent_at`` in the same
transaction. A retried job (a provider failure raises, and the job is retried with backoff)
therefore never sends a reminder twice; the one window left is a process dying between the
provider's acceptance and the commit, which the provider's own de-duplication would have to
close. A customer without a mobile number makes the reminder ``undeliverable``.

The provider is the same seam identity sends one-time codes through (``kit/notify.py``):
``configure`` installs one (tests, or a server that built its own); otherwise the process
builds it from the settings once (``runtime.sms_sender``).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import clock, db, jobs
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.logging import get_logger
from lendbridge.kit.masking import mask_phone
from lendbridge.kit.money import to_major
from lendbridge.kit.notify import Message, SmsSender
from lendbridge.servicing.collections import customers
from lendbridge.servicing.collections.models import CollectionReminder, ReminderStatus
from lendbridge.servicing.models import Loan

log = get_logger(__name__)

JOB = "collections.send_reminders"
# Reminders per job: a job is retried whole, so keep it small enough to finish quickly.
PER_JOB = 200

_sender: SmsSender | None = None
_lock = threading.Lock()


def configure(sender: SmsSender | None) -> SmsSender | None:
    """Install the provider reminders are sent through (None: build from the settings);
    returns the previous one."""
    global _sender
    with _lock:
        previous, _sender = _sender, sender
    return previous


def sender() -> SmsSender:
    global _sender
    with _lock:
        if _sender is None:
            # Imported here: the runtime imports most of the platform.
            from lendbridge.config import get_settings
            from lendbridge.runtime import sms_sender

            _sender = sms_sender(get_settings())
        return _sender


def queue(session: Session, reminder_ids: list[uuid.UUID]) -> None:
    """Queue the sending of the reminders, in the caller's transaction."""
    for start in range(0, len(reminder_ids), PER_JOB):
        chunk = reminder_ids[start : start + PER_JOB]
        jobs.enqueue(session, JOB, {"reminder_ids": [str(i) for i in chunk]})


def message(reminder: CollectionReminder, phone: str) -> Message:
    """The SMS of a reminder: the amount in major units (yuan), the due date, and for an
    overdue one the days past due. No secrets, no card or id numbers."""
    params = {
        "amount": f"{to_major(reminder.amount, reminder.currency):,}",
        "currency": reminder.currency,
        "due_date": reminder.due_date.isoformat(),
        "days": str(reminder.offset_days),
    }
    return Message(phone=phone, template=reminder.template, params=params)


def send_one(session: Session, reminder_id: uuid.UUID, provider: SmsSender) -> str:
    """Send one reminder if it is still pending; returns what happened."""
    stmt = select(CollectionReminder).where(CollectionReminder.id == reminder_id)
    if db.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)  # another worker is sending it
    reminder = session.scalar(stmt)
    if reminder is None or reminder.status != ReminderStatus.PENDING.value:
        return "skipped"
    loan = session.get(Loan, reminder.loan_id)
    assert loan is not None
    phone = customers.phone(session, loan.customer_id)
    if not phone:
        reminder.status = ReminderStatus.UNDELIVERABLE.value
        session.flush()
        return "undeliverable"
    provider.send(message(reminder, phone))
    reminder.status = ReminderStatus.SENT.value
    reminder.sent_at = clock.now()
    session.flush()
    log.info(
        "collection_reminder_sent",
        reminder_id=str(reminder.id),
        loan_id=str(loan.id),
        template=reminder.template,
        phone=mask_phone(phone),
    )
    return "sent"


@jobs.job(JOB)
def send_reminders(ctx: jobs.JobContext, payload: dict[str, Any]) -> None:
    provider = sender()
    for raw in payload["reminder_ids"]:
        with unit_of_work(ctx.factory) as session:
            send_one(session, uuid.UUID(str(raw)), provider)
