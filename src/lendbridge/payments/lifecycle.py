"""Status changes of a payment order and what each does to the ledger.

Ledger effects, by direction:

==============  ==============================  ===================================
change          pay (money leaves)              collect (money enters)
==============  ==============================  ===================================
submitted       hold: Dr account / Cr clearing  nothing (no money of ours moves yet)
succeeded       the hold is posted              entry: Dr clearing / Cr account
failed          the hold is voided              nothing
reversed        the entry is reversed           the entry is reversed
==============  ==============================  ===================================

So at every moment: pending holds = submitted pay orders, posted entries = succeeded and
reversed orders, reversals = reversed orders (``check.py`` verifies it). Each change writes
a transition row, an audit record, and (for outcomes) an event in the outbox, all in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, deferred_rows, events
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import DomainError
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, HoldIn, HoldPostIn, PostingIn, ReverseIn
from lendbridge.payments import states, usage
from lendbridge.payments.channels.base import Direction
from lendbridge.payments.models import (
    OrderStatus,
    PaymentChannel,
    PaymentOrder,
    PaymentTransition,
)

EVENT_TYPE = "payment_order"
SUSPENSE = "1901.001"
# Outcomes other domains care about (loan disbursed, installment collected ...).
EVENT_TOPICS = {
    OrderStatus.SUCCEEDED: "payments.order.succeeded",
    OrderStatus.FAILED: "payments.order.failed",
    OrderStatus.REVERSED: "payments.order.reversed",
}


def transition(
    session: Session,
    order: PaymentOrder,
    target: OrderStatus,
    *,
    reason: str,
    actor: Actor,
    flush: bool = True,
) -> None:
    """Move ``order`` (locked by the caller) to ``target``, or refuse an illegal move.
    Batch callers pass ``flush=False`` and flush once for the whole batch."""
    current = OrderStatus(order.status)
    states.check(current, target)
    now = clock.now()
    order.status = target.value
    order.updated_at = now
    if target in (OrderStatus.SUCCEEDED, OrderStatus.FAILED):
        order.completed_on = calendar.business_date(session)
        order.next_attempt_at = None
    if target == OrderStatus.FAILED:
        usage.give_back(session, order)
    elif target == OrderStatus.REVERSED:
        order.reversed_on = calendar.business_date(session)
    transition_row = {
        "order_id": order.id,
        "from_status": current.value,
        "to_status": target.value,
        "reason": reason[:200],
        "actor": actor.user_id or "system",
        "at": now,
    }
    if flush:
        session.add(PaymentTransition(**transition_row))
    else:  # a batch: one multi-row insert at its flush
        deferred_rows.defer_insert(
            session, cast(Table, PaymentTransition.__table__), transition_row
        )
    record(
        session,
        actor,
        action=f"payments.order.{target.value}",
        target_type="payment_order",
        target_id=str(order.id),
        before={"status": current.value},
        after={"status": target.value, "reason": reason[:200]},
    )
    topic = EVENT_TOPICS.get(target)
    if topic is not None:
        events.emit(
            session,
            topic,
            {
                "order_id": str(order.id),
                "kind": order.kind,
                "status": target.value,
                "amount": order.amount,
                "currency": order.currency,
                "account": order.account,
                "event_type": order.event_type,
                "event_id": order.event_id,
                "error_code": order.error_code,
            },
            request_id=actor.request_id,
            flush=flush,
        )
    if flush:
        session.flush()


def hold_request(order: PaymentOrder, channel: PaymentChannel) -> HoldIn:
    """The hold a pay order places on its account when first sent."""
    return HoldIn(
        debit_account=order.account,
        credit_account=channel.clearing_account,
        amount=order.amount,
        currency=order.currency,
        description=_description(order),
        event_type=EVENT_TYPE,
        event_id=str(order.id),
    )


def hold_key(order: PaymentOrder) -> str:
    return f"payment:{order.id}:hold"


def book_success(session: Session, order: PaymentOrder, channel: PaymentChannel) -> None:
    day = calendar.business_date(session)
    if order.direction == Direction.PAY:
        assert order.hold_id is not None, "a submitted pay order always has a hold"
        hold = ledger.post_hold(session, order.hold_id, HoldPostIn(effective_date=day))
        order.entry_id = hold.entry_id
        return
    entry = ledger.post_entry(
        session, collect_entry(order, channel, day), idempotency_key=collect_key(order)
    )
    order.entry_id = entry.id


def collect_entry(order: PaymentOrder, channel: PaymentChannel, day: dt.date) -> EntryIn:
    """The entry of a collection the channel executed: Dr clearing / Cr the order's account."""
    return EntryIn(
        postings=[
            PostingIn(
                account=channel.clearing_account,
                side=Side.DEBIT,
                amount=order.amount,
                currency=order.currency,
            ),
            PostingIn(
                account=order.account,
                side=Side.CREDIT,
                amount=order.amount,
                currency=order.currency,
            ),
        ],
        effective_date=day,
        description=_description(order),
        event_type=EVENT_TYPE,
        event_id=str(order.id),
    )


def collect_key(order: PaymentOrder) -> str:
    return f"payment:{order.id}:collect"


def release_funds(session: Session, order: PaymentOrder) -> None:
    if order.direction == Direction.PAY and order.hold_id is not None:
        ledger.void_hold(session, order.hold_id)


def book_reversal(session: Session, order: PaymentOrder, channel: PaymentChannel) -> str | None:
    """Undo a succeeded order's entry. When the money already left the account (a collected
    repayment applied to a loan, say) the account may not cover it: the reversal is then
    booked against suspense and the order waits in the manual queue. Returns that reason,
    or None."""
    assert order.entry_id is not None, "a succeeded order always has an entry"
    day = calendar.business_date(session)
    try:
        with session.begin_nested():
            entry = ledger.reverse_entry(
                session,
                order.entry_id,
                ReverseIn(effective_date=day, description=f"Channel reversal: {order.id}"),
                idempotency_key=f"payment:{order.id}:reversal",
            )
        order.reversal_entry_id = entry.id
        return None
    except DomainError as refusal:
        reason = f"reversal booked to suspense: {refusal.detail}"[:200]
    clearing, suspense = channel.clearing_account, SUSPENSE
    # A reversed payment brings money back to clearing; a reversed collection takes it away.
    debit, credit = (
        (clearing, suspense) if order.direction == Direction.PAY else (suspense, clearing)
    )
    entry = ledger.post_entry(
        session,
        EntryIn(
            postings=[
                PostingIn(
                    account=debit, side=Side.DEBIT, amount=order.amount, currency=order.currency
                ),
                PostingIn(
                    account=credit, side=Side.CREDIT, amount=order.amount, currency=order.currency
                ),
            ],
            effective_date=day,
            description=f"Channel reversal to suspense: {order.id}",
            event_type=EVENT_TYPE,
            event_id=str(order.id),
        ),
        idempotency_key=f"payment:{order.id}:reversal",
    )
    order.reversal_entry_id = entry.id
    return reason


def _description(order: PaymentOrder) -> str:
    return f"{order.kind} {order.id} via {order.channel}"
