"""Daily settlement per channel (日终清算): the day's movements through the channel, netted
into one entry between the channel's clearing account and the platform's bank account, and
the channel's fees booked as an expense.

The figures come from the orders (what moved, by direction); they must equal the clearing
account's own movement of the day, or settlement refuses: something else touched the
clearing account and must be explained first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, NotFound
from lendbridge.kit.ids import new_id
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Account, Entry, Posting, Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from lendbridge.payments import channel_config
from lendbridge.payments.channels.base import Direction
from lendbridge.payments.models import OrderStatus, PaymentChannel, PaymentOrder, Settlement
from lendbridge.payments.schemas import SettlementOut

EVENT_TYPE = "payment_settlement"
EXECUTED = (OrderStatus.SUCCEEDED.value, OrderStatus.REVERSED.value)


class SettlementMismatch(Conflict):
    code = "settlement_mismatch"
    title = "The clearing account moved differently from the channel's orders"


class SettlementNotFound(NotFound):
    code = "settlement_not_found"


def fee_of(channel: PaymentChannel, amount: int) -> int:
    variable = (Decimal(amount) * channel.fee_bps / Decimal(10_000)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    fee = channel.fee_fixed + int(variable)
    return fee if channel.fee_max is None else min(fee, channel.fee_max)


def _sum(
    session: Session, channel: str, direction: Direction, *where: ColumnElement[bool]
) -> tuple[int, int]:
    row = session.execute(
        select(func.coalesce(func.sum(PaymentOrder.amount), 0), func.count()).where(
            PaymentOrder.channel == channel, PaymentOrder.direction == direction.value, *where
        )
    ).one()
    return int(row[0]), int(row[1])


def figures(session: Session, channel: PaymentChannel, day: dt.date) -> dict[str, int]:
    executed = and_(PaymentOrder.completed_on == day, PaymentOrder.status.in_(EXECUTED))
    collected, collected_count = _sum(session, channel.name, Direction.COLLECT, executed)
    paid, paid_count = _sum(session, channel.name, Direction.PAY, executed)
    reversed_out, _ = _sum(
        session, channel.name, Direction.COLLECT, PaymentOrder.reversed_on == day
    )
    reversed_in, _ = _sum(session, channel.name, Direction.PAY, PaymentOrder.reversed_on == day)
    amounts = session.scalars(
        select(PaymentOrder.amount).where(
            PaymentOrder.channel == channel.name,
            PaymentOrder.completed_on == day,
            PaymentOrder.status.in_(EXECUTED),
        )
    )
    fees = sum(fee_of(channel, amount) for amount in amounts)
    return {
        "collected": collected,
        "collected_count": collected_count,
        "paid": paid,
        "paid_count": paid_count,
        "reversed_in": reversed_in,
        "reversed_out": reversed_out,
        "fees": fees,
        "net": collected - paid + reversed_in - reversed_out,
    }


def clearing_movement(session: Session, channel: PaymentChannel, day: dt.date) -> int:
    """The clearing account's net debit movement of ``day``, settlement entries excluded."""
    account_id = session.scalar(select(Account.id).where(Account.code == channel.clearing_account))
    rows = session.execute(
        select(Posting.side, func.coalesce(func.sum(Posting.amount), 0))
        .join(Entry, Entry.id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.effective_date == day,
            (Entry.event_type.is_(None)) | (Entry.event_type != EVENT_TYPE),
        )
        .group_by(Posting.side)
    ).all()
    totals = {side: int(total) for side, total in rows}
    return totals.get(Side.DEBIT.value, 0) - totals.get(Side.CREDIT.value, 0)


def settle(
    session: Session, channel_name: str, day: dt.date | None, actor: Actor
) -> tuple[SettlementOut, bool]:
    """Settle ``day`` (default: the business day before today's) once; settling it again
    returns the first settlement. Returns (settlement, created)."""
    channel = channel_config.get(session, channel_name)
    day = day or calendar.business_date(session) - dt.timedelta(days=1)
    existing = session.scalar(
        select(Settlement).where(
            Settlement.channel == channel.name, Settlement.business_date == day
        )
    )
    if existing is not None:
        return to_out(existing), False
    numbers = figures(session, channel, day)
    moved = clearing_movement(session, channel, day)
    if moved != numbers["net"]:
        raise SettlementMismatch(
            f"channel {channel.name} on {day}: orders net {numbers['net']}, clearing account "
            f"{channel.clearing_account} moved {moved}; explain the difference first"
        )
    settlement = Settlement(id=new_id(), channel=channel.name, business_date=day, **numbers)
    net = numbers["net"]
    key = f"settlement:{channel.name}:{day.isoformat()}"
    if net != 0:
        bank, clearing = channel.settlement_account, channel.clearing_account
        debit, credit = (bank, clearing) if net > 0 else (clearing, bank)
        settlement.entry_id = _post(
            session, channel, debit, credit, abs(net), day, f"Settlement {channel.name} {day}", key
        )
    if numbers["fees"]:
        settlement.fee_entry_id = _post(
            session,
            channel,
            channel.fee_account,
            channel.settlement_account,
            numbers["fees"],
            day,
            f"Channel fees {channel.name} {day}",
            f"{key}:fees",
        )
    settlement.created_at = clock.now()
    session.add(settlement)
    session.flush()
    out = to_out(settlement)
    record(
        session,
        actor,
        action="payments.settlement.booked",
        target_type="payment_settlement",
        target_id=f"{channel.name}:{day.isoformat()}",
        after=out.model_dump(mode="json"),
    )
    return out, True


def _post(
    session: Session,
    channel: PaymentChannel,
    debit: str,
    credit: str,
    amount: int,
    day: dt.date,
    description: str,
    key: str,
) -> uuid.UUID:
    entry = ledger.post_entry(
        session,
        EntryIn(
            postings=[
                PostingIn(account=debit, side=Side.DEBIT, amount=amount, currency=channel.currency),
                PostingIn(
                    account=credit, side=Side.CREDIT, amount=amount, currency=channel.currency
                ),
            ],
            effective_date=day,
            description=description,
            event_type=EVENT_TYPE,
            event_id=f"{channel.name}:{day.isoformat()}",
        ),
        idempotency_key=key,
    )
    return entry.id


def to_out(s: Settlement) -> SettlementOut:
    return SettlementOut(
        channel=s.channel,
        business_date=s.business_date,
        collected=s.collected,
        collected_count=s.collected_count,
        paid=s.paid,
        paid_count=s.paid_count,
        reversed_in=s.reversed_in,
        reversed_out=s.reversed_out,
        fees=s.fees,
        net=s.net,
        entry_id=s.entry_id,
        fee_entry_id=s.fee_entry_id,
        created_at=s.created_at,
    )


def list_settlements(session: Session, channel: str, limit: int = 31) -> list[SettlementOut]:
    rows = session.scalars(
        select(Settlement)
        .where(Settlement.channel == channel)
        .order_by(Settlement.business_date.desc())
        .limit(limit)
    )
    return [to_out(s) for s in rows]
