"""Does the ledger match the orders? Every pending payment hold belongs to a submitted pay
order of the same amount, and the other way round; every executed order has its entry and
every reversed one its reversal; orders that never executed have no entry; each channel's
daily-limit counters equal the orders they count."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.ledger.models import Hold, HoldStatus
from lendbridge.payments.channels.base import Direction
from lendbridge.payments.lifecycle import EVENT_TYPE
from lendbridge.payments.models import OrderStatus, PaymentChannelUsage, PaymentOrder


@dataclass(frozen=True)
class Finding:
    order_id: str
    problem: str


def consistency(session: Session) -> list[Finding]:
    findings: list[Finding] = []
    holds = {
        h.event_id: h for h in session.scalars(select(Hold).where(Hold.event_type == EVENT_TYPE))
    }
    for order in session.execute(select(PaymentOrder)).scalars():
        oid = str(order.id)
        hold = holds.pop(oid, None)
        status = OrderStatus(order.status)
        pay = order.direction == Direction.PAY
        if pay and status == OrderStatus.SUBMITTED:
            if hold is None or hold.status != HoldStatus.PENDING or hold.amount != order.amount:
                findings.append(Finding(oid, "a submitted pay order without its pending hold"))
        elif hold is not None and hold.status == HoldStatus.PENDING:
            findings.append(Finding(oid, f"a pending hold for a {status} order"))
        executed = status in (OrderStatus.SUCCEEDED, OrderStatus.REVERSED)
        if executed and order.entry_id is None:
            findings.append(Finding(oid, f"a {status} order without its entry"))
        if not executed and order.entry_id is not None:
            findings.append(Finding(oid, f"a {status} order with an entry"))
        if (status == OrderStatus.REVERSED) != (order.reversal_entry_id is not None):
            findings.append(Finding(oid, f"a {status} order and its reversal entry disagree"))
        if pay and executed and (hold is None or hold.status != HoldStatus.POSTED):
            findings.append(Finding(oid, "an executed pay order whose hold is not posted"))
    for event_id, hold in holds.items():
        findings.append(Finding(event_id or "?", f"a {hold.status} payment hold without an order"))
    findings.extend(_usage_findings(session))
    return findings


def _usage_findings(session: Session) -> list[Finding]:
    """Each channel's daily-limit counters equal the amounts of its orders that count."""
    counted = {
        (channel, day): int(total)
        for channel, day, total in session.execute(
            select(PaymentOrder.channel, PaymentOrder.business_date, func.sum(PaymentOrder.amount))
            .where(PaymentOrder.status != OrderStatus.FAILED.value)
            .group_by(PaymentOrder.channel, PaymentOrder.business_date)
        )
    }
    findings: list[Finding] = []
    for row in session.scalars(select(PaymentChannelUsage)):
        expected = counted.pop((row.channel, row.business_date), 0)
        if row.used != expected:
            findings.append(
                Finding(
                    f"{row.channel}:{row.business_date}",
                    f"daily-limit usage {row.used}, orders that count {expected}",
                )
            )
    for (channel, day), total in counted.items():
        findings.append(Finding(f"{channel}:{day}", f"orders of {total} without a usage counter"))
    return findings
