"""Collections (催收): the reminders the close of business records and sends, who works an
overdue loan (assignments, with history), what was tried (the contact log) and what the
customer promised (promises to pay).

A reminder is unique per (loan, installment, kind, offset): recording it twice is a no-op, so
a rerun of the close never reminds twice; ``sent_at`` is set by the job that sends it, after
the close's commit, so a retry never sends twice either.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class ReminderKind(enum.StrEnum):
    BEFORE = "before"  # days before the due date
    ON = "on"  # on the due date
    AFTER = "after"  # days past the due date


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, not sent yet
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # the customer has no phone number to send to


class ContactChannel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    VISIT = "visit"
    LETTER = "letter"
    EMAIL = "email"


class ContactOutcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    PROMISED = "promised"
    REFUSED = "refused"


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class CollectionReminder(Base):
    __tablename__ = "collection_reminder"
    __table_args__ = (
        UniqueConstraint("loan_id", "installment", "kind", "offset_days"),
        CheckConstraint(f"kind IN {_in(ReminderKind)}", name="kind"),
        CheckConstraint(f"status IN {_in(ReminderStatus)}", name="status"),
        CheckConstraint("offset_days >= 0", name="offset_not_negative"),
        Index("ix_collection_reminder_loan_id_id", "loan_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    installment: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    offset_days: Mapped[int] = mapped_column(Integer)  # before/after the due date; 0 on it
    due_date: Mapped[dt.date] = mapped_column(Date)
    business_date: Mapped[dt.date] = mapped_column(Date)  # the day it reminds on
    template: Mapped[str] = mapped_column(String(48))
    amount: Mapped[int] = mapped_column(BigInteger)  # what the installment owed when recorded
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CollectionAssignment(Base):
    """Who works the loan: the current assignment has no ``ended_at``; earlier ones stay."""

    __tablename__ = "collection_assignment"
    __table_args__ = (Index("ix_collection_assignment_loan_id_id", "loan_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    collector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    business_date: Mapped[dt.date] = mapped_column(Date)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CollectionContact(Base):
    """One attempt to reach the customer. The note is short and stored with phone numbers
    masked: it is read by every collector of the loan."""

    __tablename__ = "collection_contact"
    __table_args__ = (
        CheckConstraint(f"channel IN {_in(ContactChannel)}", name="channel"),
        CheckConstraint(f"outcome IN {_in(ContactOutcome)}", name="outcome"),
        Index("ix_collection_contact_loan_id_id", "loan_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    channel: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(128))
    business_date: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PromiseToPay(Base):
    """The customer promised to pay ``amount`` by ``promised_date``; the close after that day
    finds it kept (repayments since it was made reach the amount) or broken."""

    __tablename__ = "collection_promise"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"status IN {_in(PromiseStatus)}", name="status"),
        Index("ix_collection_promise_loan_id_id", "loan_id", "id"),
        Index("ix_collection_promise_status_promised_date", "status", "promised_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    promised_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    created_on: Mapped[dt.date] = mapped_column(Date)  # the business date it was made
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    received: Mapped[int | None] = mapped_column(BigInteger)  # repaid since, when evaluated
    evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(128))


__all__ = [
    "CollectionAssignment",
    "CollectionContact",
    "CollectionReminder",
    "ContactChannel",
    "ContactOutcome",
    "PromiseStatus",
    "PromiseToPay",
    "ReminderKind",
    "ReminderStatus",
]
