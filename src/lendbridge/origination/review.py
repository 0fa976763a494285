"""The manual review queue: applications the policy sent to a loan officer. The officer
approves — at the decision's limit or a lower one — or declines with a reason the applicant
reads; both are audited with the officer's note."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit import calendar, cursors
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.origination import applications, lifecycle, offers
from lendbridge.origination.errors import IllegalApplicationMove
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.origination.schemas import ApproveIn, DeclineIn
from lendbridge.servicing.loan_terms import product_of

CURSOR = "review"


def queue(
    session: Session, *, limit: int, cursor: str | None
) -> tuple[list[LoanApplication], str | None]:
    """Applications waiting for review, oldest first (ids are time-ordered)."""
    stmt = select(LoanApplication).where(
        LoanApplication.status == ApplicationStatus.IN_REVIEW.value
    )
    if cursor:
        stmt = stmt.where(LoanApplication.id > cursors.decode_id(CURSOR, cursor))
    rows = list(session.scalars(stmt.order_by(LoanApplication.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursors.encode_id(CURSOR, rows[-1].id) if more else None


def _in_review(session: Session, application_id: uuid.UUID) -> LoanApplication:
    row = applications.load(session, application_id, lock=True)
    if row.status != ApplicationStatus.IN_REVIEW.value:
        raise IllegalApplicationMove(
            f"application {row.id} is {row.status}: only an application in review can be "
            "approved or declined"
        )
    return row


def approve(
    session: Session, application_id: uuid.UUID, body: ApproveIn, actor: Actor
) -> LoanApplication:
    row = _in_review(session, application_id)
    if row.offer_amount is None or row.limit_amount is None or row.offer_rate_percent is None:
        raise IllegalApplicationMove(
            f"application {row.id} has no offer to approve (its decision priced none)"
        )
    limit = row.limit_amount if body.limit is None else body.limit
    if limit > row.limit_amount:
        raise field_error(
            ValidationFailed,
            "limit",
            f"must not exceed the decision's limit of {row.limit_amount} (fen)",
        )
    amount = min(row.amount, limit)
    product = product_of(session, row)
    if amount < product.min_amount:
        raise field_error(
            ValidationFailed, "limit", "is below the product's minimum amount: decline instead"
        )
    day = calendar.business_date(session)
    try:  # the APR cap holds at the new amount too (a fixed fee weighs more on less)
        plan = offers.schedule(product, amount, row.term, row.offer_rate_percent, day)
    except ValidationFailed as refused:
        raise field_error(ValidationFailed, "limit", refused.detail) from None
    row.limit_amount, row.offer_amount = limit, amount
    row.offer_apr_percent = plan.apr
    row.offer_start = day
    row.offer_expires_on = day + dt.timedelta(days=get_settings().offer_valid_days)
    row.reviewed_by = lifecycle.actor_name(actor)
    row.review_note = body.note
    lifecycle.move(
        session,
        row,
        ApplicationStatus.OFFERED,
        reason=f"approved in review: {body.note}",
        actor=actor,
        details={"limit": limit, "offer_amount": amount, "note": body.note},
    )
    session.flush()
    return row


def decline(
    session: Session, application_id: uuid.UUID, body: DeclineIn, actor: Actor
) -> LoanApplication:
    row = _in_review(session, application_id)
    row.reviewed_by = lifecycle.actor_name(actor)
    row.review_note = body.reason_en
    row.reasons = [{"code": "manual_review", "zh": body.reason_zh, "en": body.reason_en}] + [
        r for r in row.reasons if r.get("code") != "grade"
    ]
    row.offer_amount = row.offer_rate_percent = row.offer_apr_percent = None
    row.offer_start = None
    lifecycle.move(
        session,
        row,
        ApplicationStatus.DECLINED,
        reason=f"declined in review: {body.reason_en}",
        actor=actor,
        details={"reason_zh": body.reason_zh, "reason_en": body.reason_en},
    )
    session.flush()
    return row
