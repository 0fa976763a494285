"""Working an overdue loan: who is assigned to it (one collector at a time, the history
kept) and the contact log. Services flush; the edge commits; every write is audited."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.kit.masking import MASK, mask_phone
from lendbridge.servicing import lifecycle, loans
from lendbridge.servicing.collections import customers
from lendbridge.servicing.collections.models import (
    CollectionAssignment,
    CollectionContact,
    ContactChannel,
    ContactOutcome,
)
from lendbridge.servicing.collections.schemas import AssignmentOut, ContactIn, ContactOut
from lendbridge.servicing.payoff import repayable

MANAGE = "collections.manage"
# A mainland mobile number (optionally +86), with the separators people type.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
# Any other long run of digits (a card, resident id or account number) is hidden whole.
_LONG_NUMBER = re.compile(r"\d{8,}[\dXx]?")


def mask_note(note: str | None) -> str | None:
    """A contact note as stored: trimmed, mobile numbers masked (138****5678), other long
    numbers replaced by asterisks."""
    if note is None or not note.strip():
        return None
    masked = _MOBILE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group(0))[-11:]), note.strip())
    return _LONG_NUMBER.sub(lambda m: MASK * len(m.group(0)), masked)


def current_assignment(session: Session, loan_id: uuid.UUID) -> CollectionAssignment | None:
    return session.scalar(
        select(CollectionAssignment)
        .where(CollectionAssignment.loan_id == loan_id, CollectionAssignment.ended_at.is_(None))
        .order_by(CollectionAssignment.id.desc())
        .limit(1)
    )


def assignment_out(row: CollectionAssignment) -> AssignmentOut:
    return AssignmentOut(
        loan_id=row.loan_id,
        collector_id=row.collector_id,
        assigned_by=row.assigned_by,
        assigned_at=row.assigned_at,
        business_date=row.business_date,
        ended_at=row.ended_at,
    )


def assign(
    session: Session, loan_id: uuid.UUID, collector: uuid.UUID, actor: Actor
) -> tuple[AssignmentOut, bool]:
    """Give the loan to ``collector`` (an active staff user whose role grants
    collections.manage); the previous assignment ends. The loan must take repayments.
    Assigning the current collector again changes nothing. Returns (assignment, changed)."""
    loan = loans.load(session, loan_id, lock=True)  # one assignment change at a time
    repayable(loan)
    if not customers.is_collector(session, collector, MANAGE):
        raise field_error(
            ValidationFailed,
            "collector",
            f"is not an active staff user with the {MANAGE} permission",
        )
    current = current_assignment(session, loan_id)
    if current is not None and current.collector_id == collector:
        return assignment_out(current), False
    now = clock.now()
    if current is not None:
        current.ended_at = now
    row = CollectionAssignment(
        loan_id=loan.id,
        collector_id=collector,
        assigned_by=actor.user_id or "unknown",
        assigned_at=now,
        business_date=calendar.business_date(session),
        ended_at=None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="collections.loan.assign",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        before={"collector": str(current.collector_id) if current else None},
        after={"collector": str(collector)},
    )
    return assignment_out(row), True


def contact_out(row: CollectionContact) -> ContactOut:
    return ContactOut(
        id=row.id,
        loan_id=row.loan_id,
        channel=ContactChannel(row.channel),
        outcome=ContactOutcome(row.outcome),
        note=row.note,
        actor=row.actor,
        business_date=row.business_date,
        at=row.at,
    )


def log_contact(
    session: Session, loan_id: uuid.UUID, request: ContactIn, actor: Actor
) -> ContactOut:
    """Record an attempt to reach the loan's customer (its note stored masked)."""
    loan = loans.load(session, loan_id)
    row = CollectionContact(
        id=new_id(),
        loan_id=loan.id,
        channel=request.channel.value,
        outcome=request.outcome.value,
        note=mask_note(request.note),
        actor=actor.user_id or "unknown",
        business_date=calendar.business_date(session),
        at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="collections.contact.log",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={"contact_id": str(row.id), "channel": row.channel, "outcome": row.outcome},
    )
    return contact_out(row)


def list_contacts(session: Session, loan_id: uuid.UUID, limit: int = 100) -> list[ContactOut]:
    """The loan's contact log, newest first."""
    loans.load(session, loan_id)
    rows = session.scalars(
        select(CollectionContact)
        .where(CollectionContact.loan_id == loan_id)
        .order_by(CollectionContact.id.desc())
        .limit(limit)
    )
    return [contact_out(r) for r in rows]
