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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.kit import clock
from lendbridge.kit.errors import NotFound, ValidationFailed, field_error
from lendbridge.payments import runtime
from lendbridge.payments.channels.base import CallbackRejected, Outcome
from lendbridge.payments.models import OrderStatus, PaymentCallback, PaymentChannel, PaymentOrder
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
    seen = session.scalar(select(PaymentCallback.effect).where(PaymentCallback.digest == digest))
    if seen is not None:
        return CallbackResult(duplicate=True, effect=seen)
    order_id = _order_id(answer.order_no)
    current = (
        session.execute(
            select(PaymentOrder.status, PaymentOrder.channel).where(PaymentOrder.id == order_id)
        ).first()
        if order_id is not None
        else None
    )
    if current is None or current.channel != channel_name:
        effect = "unknown order: kept for reconciliation"
        order_id = None
    elif _settled(current.status, answer.outcome):
        # The usual case: the answer to the request already booked this outcome. Nothing to
        # lock; the receipt below still makes a replay of this callback a no-op.
        effect = "no effect"
    else:
        assert order_id is not None
        effect = apply_answer(session, order_id, answer, attempt=None, source="callback")
    try:
        with session.begin_nested():
            session.add(
                PaymentCallback(
                    channel=channel_name,
                    digest=digest,
                    order_id=order_id,
                    outcome=answer.outcome.value,
                    effect=effect,
                    received_at=clock.now(),
                )
            )
    except IntegrityError:  # the same callback, processed concurrently by another request
        return CallbackResult(duplicate=True, effect="processed concurrently")
    return CallbackResult(duplicate=False, effect=effect)


def _settled(status: str, outcome: Outcome) -> bool:
    """Whether an order in ``status`` has nothing left to learn from ``outcome`` (the state
    machine would ignore it anyway)."""
    if status in (OrderStatus.FAILED, OrderStatus.REVERSED):
        return outcome != Outcome.SUCCEEDED  # success of a failed order: a contradiction
    if status == OrderStatus.SUCCEEDED:
        return outcome != Outcome.REVERSED
    return False


def _order_id(order_no: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(order_no)
    except ValueError:
        return None
