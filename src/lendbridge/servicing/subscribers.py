"""Loans react to payment outcomes: a disbursement order that succeeded makes its loan active,
one that failed is recorded on the loan; a repayment order that succeeded is applied to its
loan, one that failed marks the repayment failed, one the channel reversed after its success
is undone (``reversals.py``).

Delivered at least once, after the payment's commit, by the job ``loans.on_payment_outcome``
(``kit/events.py``); each call runs in its own unit of work and is idempotent (a repeated
event finds the loan or repayment already moved on and changes nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.kit import events, jobs
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.logging import get_logger
from lendbridge.payments.models import OrderStatus
from lendbridge.servicing import disbursement, repayments, reversals

log = get_logger(__name__)

JOB = "loans.on_payment_outcome"
LOAN_EVENTS = frozenset({disbursement.EVENT_TYPE, repayments.EVENT_TYPE})


def concerns_loans(payload: Mapping[str, Any]) -> bool:
    return payload.get("event_type") in LOAN_EVENTS


@events.subscribe(
    "payments.order.succeeded",
    "payments.order.failed",
    "payments.order.reversed",
    name=JOB,
    when=concerns_loans,
)
def on_payment_outcome(ctx: jobs.JobContext, topic: str, payload: dict[str, Any]) -> None:
    with unit_of_work(ctx.factory) as session:
        effect = handle(session, payload)
    log.info("loan_payment_outcome", topic=topic, order_id=payload.get("order_id"), effect=effect)


def handle(session: Session, payload: Mapping[str, Any]) -> str:
    """Apply one payment outcome to the loan it concerns; returns what it did."""
    actor = system_actor(JOB)
    order_id = uuid.UUID(str(payload["order_id"]))
    subject = uuid.UUID(str(payload["event_id"]))
    reversed_ = payload.get("status") == OrderStatus.REVERSED.value
    if payload.get("event_type") == disbursement.EVENT_TYPE:
        if reversed_:  # rare; staff handle it (docs/loans-replay.md)
            log.warning("loan_disbursement_reversed", order_id=str(order_id))
            return "ignored: a reversed disbursement is handled by staff"
        return disbursement.on_outcome(session, subject, order_id, actor)
    if reversed_:
        return reversals.on_reversal(session, subject, order_id, actor)
    return repayments.on_outcome(session, subject, order_id, actor)
