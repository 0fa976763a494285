"""The collector queue: overdue loans, the most days past due first (then by id), with what
they owe, who works them, the last contact and the open promise. Days past due and buckets
are the close of business's (``cob/delinquency.py``), as of the last close. A page costs a
fixed number of queries whatever its size: the loans, then their overdue amounts,
assignments, last contacts and open promises, one grouped query each."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.servicing.collections.dues import due_through
from lendbridge.servicing.collections.models import (
    CollectionAssignment,
    CollectionContact,
    PromiseStatus,
    PromiseToPay,
)
from lendbridge.servicing.collections.promises import promise_out
from lendbridge.servicing.collections.schemas import QueueItemOut, QueuePage
from lendbridge.servicing.collections.work import contact_out
from lendbridge.servicing.models import DelinquencyBucket, Loan, LoanStatus
from lendbridge.servicing.states import REPAYABLE


class QueueBucket(enum.StrEnum):
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M3_PLUS = "M3+"


def encode_cursor(dpd: int, loan_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"q:{dpd}:{loan_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, dpd, ident = raw.split(":")
        if prefix != "q" or not dpd.isdigit() or len(dpd) > 9:
            raise ValueError(cursor)
        return int(dpd), uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued") from None


def queue(
    session: Session,
    *,
    bucket: QueueBucket | None = None,
    assignee: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> QueuePage:
    stmt = select(Loan).where(Loan.status.in_([s.value for s in REPAYABLE]), Loan.dpd > 0)
    if bucket is not None:
        stmt = stmt.where(Loan.delinquency_bucket == bucket.value)
    if assignee is not None:
        stmt = stmt.where(
            exists().where(
                CollectionAssignment.loan_id == Loan.id,
                CollectionAssignment.ended_at.is_(None),
                CollectionAssignment.collector_id == assignee,
            )
        )
    if cursor is not None:
        dpd, after = decode_cursor(cursor)
        stmt = stmt.where(or_(Loan.dpd < dpd, and_(Loan.dpd == dpd, Loan.id > after)))
    rows = list(session.scalars(stmt.order_by(Loan.dpd.desc(), Loan.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(
        items=items(session, rows),
        next_cursor=encode_cursor(rows[-1].dpd, rows[-1].id) if more and rows else None,
    )


def items(session: Session, loans: Sequence[Loan]) -> list[QueueItemOut]:
    ids = [loan.id for loan in loans]
    if not ids:
        return []
    # Overdue: due before the business date (what is due on it is not late yet).
    overdue = due_through(session, ids, calendar.business_date(session) - dt.timedelta(days=1))
    assigned = {
        a.loan_id: a
        for a in session.scalars(
            select(CollectionAssignment).where(
                CollectionAssignment.loan_id.in_(ids), CollectionAssignment.ended_at.is_(None)
            )
        )
    }
    # The newest contact of each loan (ids are time-ordered UUIDv7; PostgreSQL has no
    # max(uuid), so a window picks it on both databases).
    newest = (
        select(
            CollectionContact.id,
            func.row_number()
            .over(partition_by=CollectionContact.loan_id, order_by=CollectionContact.id.desc())
            .label("n"),
        )
        .where(CollectionContact.loan_id.in_(ids))
        .subquery()
    )
    latest = select(newest.c.id).where(newest.c.n == 1)
    contacts = {
        c.loan_id: c
        for c in session.scalars(select(CollectionContact).where(CollectionContact.id.in_(latest)))
    }
    promises: dict[uuid.UUID, PromiseToPay] = {}
    for p in session.scalars(
        select(PromiseToPay)
        .where(PromiseToPay.loan_id.in_(ids), PromiseToPay.status == PromiseStatus.OPEN.value)
        .order_by(PromiseToPay.promised_date.desc(), PromiseToPay.id.desc())
    ):
        promises[p.loan_id] = p  # the earliest comes last and wins
    out = []
    for loan in loans:
        assignment = assigned.get(loan.id)
        contact = contacts.get(loan.id)
        promise = promises.get(loan.id)
        out.append(
            QueueItemOut(
                loan_id=loan.id,
                customer_id=loan.customer_id,
                status=LoanStatus(loan.status),
                currency=loan.currency,
                dpd=loan.dpd,
                bucket=DelinquencyBucket(loan.delinquency_bucket),
                overdue_since=loan.overdue_since,
                amount_overdue=overdue.get(loan.id, 0),
                outstanding=loan.principal_outstanding
                + loan.interest_outstanding
                + loan.fee_outstanding
                + loan.penalty_outstanding,
                assignee=assignment.collector_id if assignment else None,
                assigned_at=assignment.assigned_at if assignment else None,
                last_contact=contact_out(contact) if contact else None,
                open_promise=promise_out(promise) if promise else None,
            )
        )
    return out
