"""Reading a channel's orders and writing breaks, in bulk, on both databases.

On PostgreSQL the look-ups send one statement per batch of lines with the ids as one array
parameter (``id = ANY(%s)``), the movements a statement should show are read through a
server-side cursor, and breaks are written with ``COPY``; all in the session's transaction.
On SQLite the same through SQLAlchemy Core (``IN`` in chunks, ``executemany``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lendbridge.kit.db import postgres_connection
from lendbridge.payments.models import OrderStatus, PaymentOrder
from lendbridge.payments.recon.matching import ORDER_COLUMNS, Found, OrderRec
from lendbridge.payments.recon.models import BreakStatus, ReconBreak

SQLITE_CHUNK = 500
PG_CHUNK = 20_000
STREAM_ROWS = 20_000
FLUSH_BREAKS = 5_000
EXECUTED = (OrderStatus.SUCCEEDED.value, OrderStatus.REVERSED.value)
UNEXECUTED = (OrderStatus.CREATED.value, OrderStatus.SUBMITTED.value, OrderStatus.FAILED.value)
_PG_COLUMNS = ", ".join(("uuid_send(id)", *ORDER_COLUMNS[1:]))
_ORM_COLUMNS = [PaymentOrder.id, *(getattr(PaymentOrder, name) for name in ORDER_COLUMNS[1:])]


class Movements:
    """Which orders' money movements a statement of some dates should show."""

    EXECUTED = "executed"  # succeeded (maybe reversed since): by completed_on
    REVERSED = "reversed"  # by reversed_on


_MOVEMENT_SQL = {
    Movements.EXECUTED: ("completed_on", "status IN ('succeeded', 'reversed')"),
    Movements.REVERSED: ("reversed_on", "status = 'reversed'"),
}


def _orm_row(row: Any) -> OrderRec:
    return OrderRec(row[0].bytes, *row[1:])


class Orders:
    """A channel's orders, as :class:`OrderRec` tuples keyed by the 16 bytes of their id."""

    def __init__(self, session: Session, channel: str) -> None:
        self.session = session
        self.channel = channel
        self.pg = postgres_connection(session)

    # -- look-ups by reference ---------------------------------------------------------

    def by_keys(self, keys: Sequence[bytes]) -> list[OrderRec]:
        if not keys:
            return []
        if self.pg is not None:
            found: list[OrderRec] = []
            for start in range(0, len(keys), PG_CHUNK):
                # One array literal of hex digits: cheaper to send than a list the driver
                # adapts element by element.
                literal = "{" + ",".join(key.hex() for key in keys[start : start + PG_CHUNK]) + "}"
                found += self._pg(
                    f"SELECT {_PG_COLUMNS} FROM payment_order "
                    "WHERE channel = %s AND id = ANY(%s::uuid[])",
                    literal,
                )
            return found
        return self._lite(PaymentOrder.id, [uuid.UUID(bytes=key) for key in keys])

    def by_refs(self, refs: Sequence[str]) -> list[OrderRec]:
        if not refs:
            return []
        if self.pg is not None:
            return self._pg(
                f"SELECT {_PG_COLUMNS} FROM payment_order "
                "WHERE channel = %s AND channel_ref = ANY(%s)",
                refs,
            )
        return self._lite(PaymentOrder.channel_ref, refs)

    def _pg(self, sql: str, values: Sequence[Any] | str) -> list[OrderRec]:
        assert self.pg is not None
        with self.pg.cursor() as cursor:
            cursor.execute(
                sql,
                (self.channel, values if isinstance(values, str) else list(values)),
                prepare=True,
            )
            return [OrderRec._make(row) for row in cursor.fetchall()]

    def _lite(self, column: Any, values: Sequence[Any]) -> list[OrderRec]:
        found: list[OrderRec] = []
        for start in range(0, len(values), SQLITE_CHUNK):
            chunk = values[start : start + SQLITE_CHUNK]
            rows = self.session.execute(
                select(*_ORM_COLUMNS).where(PaymentOrder.channel == self.channel, column.in_(chunk))
            )
            found.extend(_orm_row(row) for row in rows)
        return found

    # -- what a statement of these dates should show -----------------------------------

    def movements(
        self, kind: str, first: dt.date, last: dt.date, margin: int
    ) -> Iterator[tuple[bytes, int, bool]]:
        """(id bytes, amount, whether its date is between ``first`` and ``last``) of the
        movements of ``kind`` dated up to ``margin`` days around them: the keys only, a
        million rows cost a few megabytes on the wire."""
        date_column, status = _MOVEMENT_SQL[kind]
        low, high = first - dt.timedelta(days=margin), last + dt.timedelta(days=margin)
        if self.pg is not None:
            with self.pg.cursor(name=f"recon_{uuid.uuid4().hex}") as cursor:
                cursor.itersize = STREAM_ROWS
                cursor.execute(
                    f"SELECT uuid_send(id), amount, {date_column} BETWEEN %s AND %s "
                    f"FROM payment_order WHERE channel = %s AND {status} "
                    f"AND {date_column} BETWEEN %s AND %s",
                    (first, last, self.channel, low, high),
                )
                yield from cursor
            return
        column = getattr(PaymentOrder, date_column)
        statuses = EXECUTED if kind == Movements.EXECUTED else (OrderStatus.REVERSED.value,)
        rows = self.session.execute(
            select(PaymentOrder.id, PaymentOrder.amount, column)
            .where(
                PaymentOrder.channel == self.channel,
                PaymentOrder.status.in_(statuses),
                column.between(low, high),
            )
            .execution_options(yield_per=STREAM_ROWS)
        )
        for order_id, amount, day in rows:
            yield order_id.bytes, amount, first <= day <= last

    def unexecuted(self, first: dt.date, last: dt.date) -> list[OrderRec]:
        """Orders created between the dates that did not execute (yet)."""
        if self.pg is not None:
            with self.pg.cursor() as cursor:
                cursor.execute(
                    f"SELECT {_PG_COLUMNS} FROM payment_order WHERE channel = %s "
                    "AND business_date BETWEEN %s AND %s "
                    "AND status IN ('created', 'submitted', 'failed')",
                    (self.channel, first, last),
                )
                return [OrderRec._make(row) for row in cursor.fetchall()]
        rows = self.session.execute(
            select(*_ORM_COLUMNS).where(
                PaymentOrder.channel == self.channel,
                PaymentOrder.business_date.between(first, last),
                PaymentOrder.status.in_(UNEXECUTED),
            )
        )
        return [_orm_row(row) for row in rows]


_BREAK_COLUMNS = (
    "run_id",
    "channel",
    "kind",
    "movement",
    "order_id",
    "line_no",
    "lines",
    "orders",
    "channel_ref",
    "order_no",
    "trade_date",
    "direction",
    "currency",
    "statement_amount",
    "platform_amount",
    "statement_status",
    "platform_status",
    "detail",
    "status",
    "raised_on",
    "created_at",
)


def _text(value: str | None, limit: int) -> str | None:
    """Text from a statement, fit for a column: no NUL (PostgreSQL refuses it), cut to size."""
    if value is None:
        return None
    return value.replace("\x00", "")[:limit]


class BreakWriter:
    """Breaks as they are found, written in bulk every :data:`FLUSH_BREAKS`."""

    def __init__(
        self,
        session: Session,
        run_id: uuid.UUID,
        channel: str,
        raised_on: dt.date,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.pg = postgres_connection(session)
        self.run_id = run_id
        self.channel = channel
        self.raised_on = raised_on
        self.now = now
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0

    def add(self, found: Found) -> None:
        line, order = found.line, found.order
        orders = found.orders
        self.rows.append(
            (
                self.run_id,
                self.channel,
                found.kind.value,
                found.movement.value if found.movement else None,
                order.id if order else None,
                line.line_no if line else found.line_no,
                found.lines,
                [str(o.id) for o in orders] if orders else None,
                _text(line.channel_ref, 64) if line else (order.channel_ref if order else None),
                _text(line.order_no, 64) if line else None,
                line.trade_date if line else None,
                line.direction if line else (order.direction if order else None),
                line.currency if line else (order.currency if order else None),
                found.statement_amount,
                found.platform_amount,
                _text(line.status, 16) if line else None,
                order.status if order else (_common_status(orders) if orders else None),
                _text(found.detail, 500) or "",
                BreakStatus.OPEN.value,
                self.raised_on,
                self.now,
            )
        )
        if len(self.rows) >= FLUSH_BREAKS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.pg is not None:
            self._copy(self.rows)
        else:
            self.session.execute(
                insert(ReconBreak),
                [dict(zip(_BREAK_COLUMNS, row, strict=True)) for row in self.rows],
            )
        self.written += len(self.rows)
        self.rows = []

    def _copy(self, rows: Iterable[tuple[Any, ...]]) -> None:
        assert self.pg is not None
        json_at = (_BREAK_COLUMNS.index("lines"), _BREAK_COLUMNS.index("orders"))
        with (
            self.pg.cursor() as cursor,
            cursor.copy(f"COPY recon_break ({', '.join(_BREAK_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = list(row)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i])
                copy.write_row(values)


def _common_status(orders: Sequence[OrderRec]) -> str:
    statuses = sorted({o.status for o in orders})
    return statuses[0] if len(statuses) == 1 else "mixed"
