"""Channel callbacks: verified, stored once, applied once.

The adapter verifies the signature and the timestamp (a stale callback is refused). The
digest of the callback's signed content is kept with a unique constraint, so the same
callback delivered again — a channel's duplicate or an attacker's replay inside the
freshness window — is acknowledged and changes nothing. Different callbacks about the same
order (out of order, late "processing" after "succeeded") go through the order's state
machine, which ignores anything that is not a legal next step.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, Table, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock, db
from lendbridge.kit.errors import NotFound, ValidationFailed, field_error
from lendbridge.payments import runtime, submission
from lendbridge.payments.channels.base import CallbackRejected
from lendbridge.payments.models import PaymentCallback, PaymentChannel, PaymentOrder
from lendbridge.payments.submission import apply_answer


class CallbackRefused(ValidationFailed):
    status = 401
    code = "callback_rejected"
    title = "The callback could not be verified"


@dataclass(frozen=True)
class CallbackResult:
    duplicate: bool
    effect: str


def handle(
    session: Session, channel_name: str, headers: Mapping[str, str], body: bytes
) -> CallbackResult:
    channel = session.get(PaymentChannel, channel_name)
    if channel is None:
        raise NotFound(f"no payment channel is named {channel_name!r}")
    adapter = runtime.current().adapters.get(channel)
    try:
        answer = adapter.parse_callback(headers, body, clock.now())
    except CallbackRejected as rejected:
        raise field_error(CallbackRefused, "body", rejected.reason) from None
    digest = hashlib.sha256(channel_name.encode() + b"\n" + body).hexdigest()
    order_id = _order_id(answer.order_no)
    # One statement reads the order (row-locked: this callback and the sender's booking of
    # the same order, which locks its batch's order rows first, take turns), whether this
    # callback was seen before, and whether a send of the order awaits its answer.
    row = (
        session.execute(
            select(
                PaymentOrder.status,
                PaymentOrder.channel,
                _seen(digest).scalar_subquery().label("seen"),
                submission.in_flight_clause(order_id, channel.timeout_seconds),
            )
            .where(PaymentOrder.id == order_id)
            .with_for_update(of=PaymentOrder)
        ).first()
        if order_id is not None
        else None
    )
    if row is None or row.channel != channel_name:
        seen = session.scalar(_seen(digest))
        if seen is not None:
            return CallbackResult(duplicate=True, effect=seen)
        effect = "unknown order: kept for reconciliation"
        order_id = None
    elif row.seen is not None:
        return CallbackResult(duplicate=True, effect=row.seen)
    elif submission.already_settled(row.status, answer.outcome):
        # The answer to the request already booked this outcome; the receipt below still
        # makes a replay of this callback a no-op.
        effect = "no effect"
    elif row.in_flight and _still_in_flight(session, order_id, channel.timeout_seconds):
        # The channel called back before the sender booked its answer (most channels do):
        # the sender books both in its batch, far cheaper than one order at a time here.
        effect = submission.DEFERRED
    else:
        assert order_id is not None
        effect = apply_answer(session, order_id, answer, attempt=None, source="callback")
        # Callbacks deferred to a send whose sender died before booking its answer.
        submission.apply_deferred(session, [order_id])
    inserted = session.execute(
        db.insert_ignoring_duplicates(session, cast(Table, PaymentCallback.__table__)).values(
            channel=channel_name,
            digest=digest,
            order_id=order_id,
            outcome=answer.outcome.value,
            error_code=answer.error_code,
            channel_ref=answer.channel_ref,
            effect=effect,
            received_at=clock.now(),
        )
    )
    if not cast(
        CursorResult[Any], inserted
    ).rowcount:  # the same callback about no order of ours, taken concurrently
        return CallbackResult(duplicate=True, effect="processed concurrently")
    return CallbackResult(duplicate=False, effect=effect)


def _still_in_flight(session: Session, order_id: uuid.UUID | None, timeout_seconds: int) -> bool:
    """Asked again after the order's lock is held. On PostgreSQL the statement that took the
    lock read the attempts in its snapshot from before it waited: if it waited for the
    sender's booking, the send looked in flight though its answer was booked, and deferring
    to that finished sender would lose the callback. A new statement sees the commit."""
    return bool(session.scalar(select(submission.in_flight_clause(order_id, timeout_seconds))))


def _seen(digest: str) -> Select[str]:
    """What an earlier delivery of the same callback did, if there was one."""
    return select(PaymentCallback.effect).where(PaymentCallback.digest == digest)


def _order_id(order_no: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(order_no)
    except ValueError:
        return None
