"""Matching statement lines to payment orders by reference, and the figures of a run.

A line names its order by ``order_no`` (the order's id, our own unique key) or, failing
that, by the channel's reference: one reference may name several orders (a batch the
channel executed as one line). Several lines may name one order (a split). Everything here
is in memory and database-free; :mod:`importer` feeds it lines in the statement's order
with the orders each names.

Memory is the point of the shapes below: an order matched exactly by one line leaves one
dict entry (its 16-byte id -> the line number); only disagreements, splits and batches
keep fuller records.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from lendbridge.payments.channels.base import StatementLine
from lendbridge.payments.models import OrderStatus
from lendbridge.payments.recon.models import BreakKind, Movement

# The order statuses each statement status agrees with. An order reversed later did
# succeed first, so a SUCCESS line agrees with it.
ACCEPTS: dict[str, frozenset[str]] = {
    "succeeded": frozenset({OrderStatus.SUCCEEDED.value, OrderStatus.REVERSED.value}),
    "reversed": frozenset({OrderStatus.REVERSED.value}),
    "failed": frozenset({OrderStatus.FAILED.value}),
}
_NOT_DIGITS = re.compile(r"[^0-9]")


def agrees(line_status: str, order_status: str) -> bool:
    return order_status in ACCEPTS.get(line_status, frozenset({line_status}))


def movement_of(line_status: str) -> Movement:
    return Movement.REVERSAL if line_status == "reversed" else Movement.SUCCESS


def last4(account: str | None) -> str | None:
    """The last four digits of a (masked) account number, or None when it shows fewer."""
    if not account:
        return None
    digits = _NOT_DIGITS.sub("", account)
    return digits[-4:] if len(digits) >= 4 else None


class OrderRec(NamedTuple):
    """The columns of a payment order that reconciliation reads. The id travels as its 16
    bytes (PostgreSQL's ``uuid_send``): a million of them cost no ``UUID`` objects."""

    key: bytes
    channel_ref: str | None
    direction: str
    amount: int
    currency: str
    status: str
    completed_on: dt.date | None
    reversed_on: dt.date | None
    party_account_masked: str | None
    business_date: dt.date

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.key)


ORDER_COLUMNS = OrderRec._fields


@dataclass(slots=True)
class LineRec:
    """A statement line kept past its batch (unreferenced, or part of a group)."""

    line_no: int
    trade_date: dt.date
    direction: str
    amount: int
    currency: str
    status: str
    channel_ref: str | None
    order_no: str | None
    last4: str | None

    @property
    def movement(self) -> Movement:
        return movement_of(self.status)

    @classmethod
    def of(cls, line: StatementLine) -> LineRec:
        return cls(
            line_no=line.line_no,
            trade_date=line.trade_date,
            direction=line.direction.value,
            amount=line.amount,
            currency=line.currency,
            status=line.status,
            channel_ref=line.channel_ref,
            order_no=line.order_no,
            last4=last4(line.account),
        )


@dataclass(slots=True)
class Found:
    """A break found by matching, before it is written."""

    kind: BreakKind
    detail: str
    movement: Movement | None = None
    line: LineRec | None = None
    line_no: int | None = None  # an unreadable line has no LineRec
    order: OrderRec | None = None
    lines: list[int] | None = None
    orders: list[OrderRec] | None = None
    statement_amount: int | None = None
    platform_amount: int | None = None

    @property
    def difference(self) -> int:
        """Statement minus platform, what is missing counting as zero."""
        return (self.statement_amount or 0) - (self.platform_amount or 0)


@dataclass
class Tally:
    """The figures of a run, kept as lines and orders stream past."""

    lines: int = 0
    bad_lines: int = 0
    statement_lines: int = 0
    statement_amount: int = 0
    statement_fees: int = 0
    platform_movements: int = 0
    platform_amount: int = 0
    matched_lines: int = 0
    matched_orders: int = 0
    matched_amount: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    by_rule: Counter[str] = field(default_factory=Counter)
    kind_count: Counter[str] = field(default_factory=Counter)
    kind_amount: Counter[str] = field(default_factory=Counter)

    def line(self, line: StatementLine) -> None:
        self.lines += 1
        self.statement_lines += 1
        self.statement_amount += line.amount
        self.statement_fees += line.fee
        day = line.trade_date
        if self.first_date is None or day < self.first_date:
            self.first_date = day
        if self.last_date is None or day > self.last_date:
            self.last_date = day

    def bad(self) -> None:
        self.lines += 1
        self.bad_lines += 1

    def matched(self, rule: str, lines: int, orders: int, amount: int) -> None:
        self.by_rule[rule] += 1
        self.matched_lines += lines
        self.matched_orders += orders
        self.matched_amount += amount

    def unmatched(self, rule: str, lines: int, orders: int, amount: int) -> None:
        """Take back a match counted too early (a second line named the same order)."""
        self.by_rule[rule] -= 1
        self.matched_lines -= lines
        self.matched_orders -= orders
        self.matched_amount -= amount

    def found(self, item: Found) -> None:
        self.kind_count[item.kind.value] += 1
        self.kind_amount[item.kind.value] += abs(item.difference)


Key = tuple[bytes, Movement]


@dataclass(slots=True)
class _Group:
    """An order's movement named by more than one line, or by one line whose amount is
    not exactly the order's: decided when the whole statement has been read."""

    order: OrderRec
    movement: Movement
    line: LineRec  # the first line, shown on a break
    line_nos: list[int]
    total: int


class ReferenceMatcher:
    """Phase one: each line against the orders its references name."""

    def __init__(self, amount_tolerance: int, emit: Callable[[Found], None], tally: Tally):
        self.tolerance = amount_tolerance
        self.emit = emit
        self.tally = tally
        # An order's movement matched exactly by one line: id bytes -> line number.
        self.single: dict[Movement, dict[bytes, int]] = {m: {} for m in Movement}
        self.groups: dict[Key, _Group] = {}
        # Matched as part of a batch or by amount, date and account: -> first line number.
        self.matched: dict[Key, int] = {}
        # Named by a line that disagrees: never also "missing at the channel".
        self.touched: set[Key] = set()
        self.unreferenced: list[LineRec] = []

    # -- phase one ---------------------------------------------------------------------

    def line(self, line: StatementLine, orders: list[OrderRec]) -> None:
        if not orders:
            self.unreferenced.append(LineRec.of(line))
        elif len(orders) == 1:
            self._one(line, orders[0])
        else:
            self._batch(line, orders)

    def _break(
        self,
        kind: BreakKind,
        line: StatementLine,
        detail: str,
        movement: Movement,
        *,
        order: OrderRec | None = None,
        orders: list[OrderRec] | None = None,
        platform_amount: int | None = None,
    ) -> None:
        self.emit(
            Found(
                kind,
                detail,
                movement=movement,
                line=LineRec.of(line),
                order=order,
                orders=orders,
                statement_amount=line.amount,
                platform_amount=platform_amount,
            )
        )

    def _one(self, line: StatementLine, order: OrderRec) -> None:
        movement = movement_of(line.status)
        key = order.key
        pair = (key, movement)
        if order.direction != line.direction or order.currency != line.currency:
            self.touched.add(pair)
            self._break(
                BreakKind.AMOUNT_MISMATCH,
                line,
                f"the statement has {line.direction} {line.currency}, the order "
                f"{order.direction} {order.currency}",
                movement,
                order=order,
                platform_amount=order.amount,
            )
            return
        if not agrees(line.status, order.status):
            self.touched.add(pair)
            self._break(
                BreakKind.STATUS_MISMATCH,
                line,
                f"the statement says {line.status}, the order is {order.status}",
                movement,
                order=order,
                platform_amount=order.amount,
            )
            return
        group = self.groups.get(pair)
        if group is not None:
            group.line_nos.append(line.line_no)
            group.total += line.amount
            return
        earlier = self.matched.get(pair)
        if earlier is not None:
            self.touched.add(pair)
            self._break(
                BreakKind.AMOUNT_MISMATCH,
                line,
                f"the order is already matched by line {earlier}",
                movement,
                order=order,
                platform_amount=order.amount,
            )
            return
        singles = self.single[movement]
        first = singles.pop(key, None)
        if first is not None:  # a second line for the same movement: a split, or a duplicate
            self.tally.unmatched("reference", 1, 1, order.amount)
            self.groups[pair] = _Group(
                order, movement, LineRec.of(line), [first, line.line_no], order.amount + line.amount
            )
            return
        if line.amount == order.amount:
            singles[key] = line.line_no
            self.tally.matched("reference", 1, 1, line.amount)
            return
        self.groups[pair] = _Group(order, movement, LineRec.of(line), [line.line_no], line.amount)

    def _batch(self, line: StatementLine, orders: list[OrderRec]) -> None:
        movement = movement_of(line.status)
        pairs = [(o.key, movement) for o in orders]
        if any(self.accounted(*pair) for pair in pairs):
            self._break(
                BreakKind.AMOUNT_MISMATCH,
                line,
                f"reference {line.channel_ref} names {len(orders)} orders, some already matched",
                movement,
                orders=orders,
                platform_amount=sum(o.amount for o in orders),
            )
            return
        total = sum(o.amount for o in orders)
        disagreeing = sorted({o.status for o in orders if not agrees(line.status, o.status)})
        other = [o for o in orders if (o.direction, o.currency) != (line.direction, line.currency)]
        if disagreeing:
            kind = BreakKind.STATUS_MISMATCH
            detail = f"the statement says {line.status}; orders of the batch are " + ", ".join(
                disagreeing
            )
        elif other:
            kind = BreakKind.AMOUNT_MISMATCH
            detail = "orders of the batch move money the other way or in another currency"
        elif abs(total - line.amount) > self.tolerance:
            kind = BreakKind.AMOUNT_MISMATCH
            detail = (
                f"the line is {line.amount}, the {len(orders)} orders of the batch sum to {total}"
            )
        else:
            for pair in pairs:
                self.matched[pair] = line.line_no
            self.tally.matched("batch", 1, len(orders), line.amount)
            return
        self.touched.update(pairs)
        self._break(kind, line, detail, movement, orders=orders, platform_amount=total)

    def finish(self) -> None:
        """Decide the groups: lines naming one order sum to its amount, or do not."""
        for pair, group in sorted(self.groups.items(), key=lambda item: item[1].line_nos[0]):
            order, count = group.order, len(group.line_nos)
            if abs(group.total - order.amount) <= self.tolerance:
                self.matched[pair] = group.line_nos[0]
                self.tally.matched("reference" if count == 1 else "split", count, 1, group.total)
                continue
            self.touched.add(pair)
            detail = (
                f"lines {', '.join(map(str, group.line_nos))} sum to {group.total}, "
                f"the order is {order.amount}"
                if count > 1
                else f"the statement has {group.total}, the order {order.amount}"
            )
            self.emit(
                Found(
                    BreakKind.AMOUNT_MISMATCH,
                    detail,
                    movement=group.movement,
                    line=group.line,
                    order=order,
                    lines=group.line_nos if count > 1 else None,
                    statement_amount=group.total,
                    platform_amount=order.amount,
                )
            )
        self.groups.clear()

    # -- questions for the later phases ------------------------------------------------

    def accounted(self, key: bytes, movement: Movement) -> bool:
        """Whether a line of this statement named this movement of the order (matched or
        not): it is then never reported as missing at the channel."""
        pair = (key, movement)
        return (
            key in self.single[movement]
            or pair in self.groups
            or pair in self.matched
            or pair in self.touched
        )

    def matched_line(self, key: bytes, movement: Movement) -> int | None:
        """The line that matched this movement of the order, after :meth:`finish`."""
        line = self.single[movement].get(key)
        return line if line is not None else self.matched.get((key, movement))
