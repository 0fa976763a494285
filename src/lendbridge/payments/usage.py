"""A channel's daily limit (单日限额): what its orders of one business date may move in all.

Each channel and business date has one counter row (``payment_channel_usage``): an order adds
its amount when it is created (:func:`take`) and gives it back if it fails (:func:`give_back`,
from the order's transition to ``failed``, its only way out of the count; reversed orders keep
theirs, as the channel executed them). The payments check proves the counters equal the
orders they count.

Why a counter: the limit must hold for orders created concurrently, so the creator has to
serialise on something. Summing the day's orders under a lock of the channel's row held the
lock for the rest of the creating transaction (every repayment through a channel waited for
the one before it) and cost more as the day's orders grew. The counter's update is one
indexed row, its new value says at once whether the limit is exceeded, and the order creator
makes it the last statement before its own rows, so the row lock is held for little more than
the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lendbridge.kit.db import is_postgres
from lendbridge.payments.models import PaymentChannelUsage, PaymentOrder

USAGE = cast(Table, PaymentChannelUsage.__table__)


def _upsert(dialect_insert: Callable[[Table], Any]) -> Any:
    insert = dialect_insert(USAGE)
    return insert.on_conflict_do_update(
        index_elements=["channel", "business_date"],
        set_={"used": USAGE.c.used + insert.excluded.used},
    ).returning(USAGE.c.used)


# Built once: every order creation runs it, and building it costs more than running it.
_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def take(session: Session, channel: str, day: dt.date, amount: int) -> int:
    """Add ``amount`` to the channel's usage of ``day``; returns the usage with it. The row
    stays locked until the transaction ends: a caller that finds the limit exceeded raises,
    and its rollback (or its savepoint's) takes the amount back out."""
    stmt = _UPSERT["postgresql" if is_postgres(session) else "sqlite"]
    values = {"channel": channel, "business_date": day, "used": amount}
    return int(session.execute(stmt, values).scalar_one())


def give_back(session: Session, order: PaymentOrder) -> None:
    """A failed order no longer counts against its channel's limit of the day it was made."""
    session.execute(
        update(USAGE)
        .where(USAGE.c.channel == order.channel, USAGE.c.business_date == order.business_date)
        .values(used=USAGE.c.used - order.amount)
    )
