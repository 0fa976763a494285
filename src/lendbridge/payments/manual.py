"""The manual queue: orders that need a person — retries exhausted, no final answer from the
channel, or a channel answer that contradicts the platform. Staff retry, cancel or resolve
them, each time with a note; every action is in the audit trail.

Cancelling or resolving an order that was sent is only safe once the channel has been asked:
a cancel first queries the channel and refuses if the channel executed the order.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import Conflict
from lendbridge.payments import lifecycle, runtime
from lendbridge.payments.channels.base import Outcome
from lendbridge.payments.models import ManualAction, OrderStatus, PaymentNote, PaymentOrder
from lendbridge.payments.orders import channel_of, get_order, load, wake_sender
from lendbridge.payments.schemas import ManualIn, OrderDetailOut
from lendbridge.payments.submission import apply_answer


class NotInManualQueue(Conflict):
    code = "not_in_manual_queue"
    title = "The payment order is not waiting in the manual queue"


class ChannelExecuted(Conflict):
    code = "channel_executed"
    title = "The channel executed this order; it cannot be cancelled"


def act(
    factory: sessionmaker[Session], order_id: uuid.UUID, request: ManualIn, actor: Actor
) -> OrderDetailOut:
    """One staff action on a queued order, in its own transactions (a cancel talks to the
    channel first). Returns the order afterwards."""
    if request.action == ManualAction.CANCEL:
        _confirm_not_executed(factory, order_id)
    with unit_of_work(factory) as session:
        order = load(session, order_id, lock=True)
        if not order.manual and request.action != ManualAction.CANCEL:
            raise NotInManualQueue(f"payment order {order_id} is not in the manual queue")
        _note(session, order, request, actor)
        if request.action == ManualAction.RETRY:
            _retry(session, order)
        elif request.action == ManualAction.CANCEL:
            _cancel(session, order, request, actor)
        else:
            _resolve(session, order, request, actor)
        session.flush()
    with unit_of_work(factory) as session:
        return get_order(session, order_id)


def _confirm_not_executed(factory: sessionmaker[Session], order_id: uuid.UUID) -> None:
    with unit_of_work(factory) as session:
        order = load(session, order_id)
        if order.status != OrderStatus.SUBMITTED:
            return
        adapter = runtime.current().adapters.get(channel_of(session, order))
    answer = adapter.query(str(order_id))
    if answer.outcome in (Outcome.SUCCEEDED, Outcome.REVERSED):
        with unit_of_work(factory) as session:
            apply_answer(session, order_id, answer, attempt=None, source="query")
        raise ChannelExecuted(
            f"the channel reports payment order {order_id} as {answer.outcome}; it was booked "
            "accordingly and cannot be cancelled"
        )
    if answer.outcome in (Outcome.PROCESSING, Outcome.UNKNOWN):
        raise Conflict(
            f"the channel's answer about payment order {order_id} is {answer.outcome}: cancel "
            "only once it has confirmed the order failed or never arrived"
        )


def _note(session: Session, order: PaymentOrder, request: ManualIn, actor: Actor) -> None:
    session.add(
        PaymentNote(
            order_id=order.id,
            action=request.action.value,
            note=request.note,
            actor=actor.user_id or "system",
            at=clock.now(),
        )
    )
    record(
        session,
        actor,
        action=f"payments.manual.{request.action.value}",
        target_type="payment_order",
        target_id=str(order.id),
        before={"status": order.status, "manual_reason": order.manual_reason},
        after={"note": request.note, "outcome": request.outcome},
    )


def _retry(session: Session, order: PaymentOrder) -> None:
    if order.status not in (OrderStatus.CREATED, OrderStatus.SUBMITTED):
        raise Conflict(f"a {order.status} order cannot be retried")
    order.manual = False
    order.manual_reason = None
    order.attempts = 0  # a fresh budget of attempts
    order.next_attempt_at = clock.now()
    order.updated_at = order.next_attempt_at
    wake_sender(session, order.next_attempt_at)


def _cancel(session: Session, order: PaymentOrder, request: ManualIn, actor: Actor) -> None:
    if order.status not in (OrderStatus.CREATED, OrderStatus.SUBMITTED):
        raise Conflict(f"a {order.status} order cannot be cancelled")
    order.manual = False
    order.manual_reason = None
    order.error_code = order.error_code or "CANCELLED"
    lifecycle.release_funds(session, order)
    lifecycle.transition(
        session,
        order,
        OrderStatus.FAILED,
        reason=f"cancelled by staff: {request.note}",
        actor=actor,
    )


def _resolve(session: Session, order: PaymentOrder, request: ManualIn, actor: Actor) -> None:
    """Staff established the outcome with the channel (a phone call, the statement)."""
    outcome = Outcome.SUCCEEDED if request.outcome == OrderStatus.SUCCEEDED else Outcome.FAILED
    order.manual = False
    order.manual_reason = None
    if order.status == OrderStatus.SUBMITTED:
        channel = channel_of(session, order)
        if outcome == Outcome.SUCCEEDED:
            lifecycle.book_success(session, order, channel)
            lifecycle.transition(
                session,
                order,
                OrderStatus.SUCCEEDED,
                reason=f"resolved by staff: {request.note}",
                actor=actor,
            )
        else:
            lifecycle.release_funds(session, order)
            lifecycle.transition(
                session,
                order,
                OrderStatus.FAILED,
                reason=f"resolved by staff: {request.note}",
                actor=actor,
            )
        return
    # Already final (a contradiction flagged for review): staff confirm the booked outcome.
    if OrderStatus(order.status).value != request.outcome:
        raise Conflict(
            f"payment order {order.id} is {order.status}; correct the books through a "
            f"maker-checker adjustment, then resolve it as {order.status}"
        )
