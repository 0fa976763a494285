"""The gateway's book: every recorded order, what moved, and the counters tests check.

All state lives in dicts guarded by one lock. The lock is held for a few dictionary
operations and never across an ``await``, so the event loop (which does all writes) never
waits long, and a test thread may read (``stats``, ``get``) at any time.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from lendbridge.payments.gateway.faults import OrderPlan


class Status(enum.StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class OrderContent:
    """What an order asks for; a repeat of the order_no must ask for the same money move.
    ``callback_url`` and ``memo`` are not compared: a re-send after the platform moved its
    callback address is still the same payment."""

    direction: str
    amount: int
    currency: str
    account_number: str
    account_name: str


@dataclass(slots=True)
class Transaction:
    merchant_id: str
    order_no: str
    content: OrderContent
    callback_url: str | None
    memo: str
    channel_ref: str
    plan: OrderPlan
    received_at: dt.datetime
    status: Status = Status.PROCESSING
    error_code: str | None = None
    message: str | None = None
    completed_at: dt.datetime | None = None
    reversed_at: dt.datetime | None = None
    fee: int = 0
    epoch: int = 0  # the book's reset generation, so timers of a previous run do nothing

    def state(self, tz: dt.tzinfo) -> dict[str, Any]:
        """The order as the API shows it."""
        return {
            "order_no": self.order_no,
            "channel_ref": self.channel_ref,
            "status": self.status.value,
            "error_code": self.error_code,
            "message": self.message,
            "amount": self.content.amount,
            "currency": self.content.currency,
            "completed_at": _iso(self.completed_at, tz),
            "reversed_at": _iso(self.reversed_at, tz),
        }


def _iso(instant: dt.datetime | None, tz: dt.tzinfo) -> str | None:
    return None if instant is None else instant.astimezone(tz).isoformat(timespec="milliseconds")


class StatementKind(enum.StrEnum):
    SUCCESS = "SUCCESS"
    REVERSED = "REVERSED"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One line of a trade date's statement: money moved (SUCCESS) or moved back (REVERSED)."""

    kind: StatementKind
    transaction: Transaction
    at: dt.datetime
    fee: int


class Conflict(Exception):
    """The order_no is known with different content."""


@dataclass
class Counters:
    requests: Counter[str] = field(default_factory=Counter)  # by outcome of the request
    callbacks: Counter[str] = field(default_factory=Counter)  # scheduled/attempts/delivered/...


class Book:
    def __init__(self, ref_prefix: str = "SG") -> None:
        self._lock = threading.Lock()
        self._ref_prefix = ref_prefix
        self._reset_locked(0)

    def _reset_locked(self, epoch: int) -> None:
        self.epoch = epoch
        self._orders: dict[tuple[str, str], Transaction] = {}
        self._attempts: Counter[tuple[str, str, str]] = Counter()
        self._executions: Counter[tuple[str, str]] = Counter()
        self._twice: set[tuple[str, str]] = set()
        self._statements: dict[dt.date, list[StatementEntry]] = {}
        self._sequence = itertools.count(1)
        self.counters = Counters()

    def reset(self) -> int:
        with self._lock:
            self._reset_locked(self.epoch + 1)
            return self.epoch

    def next_attempt(self, merchant_id: str, order_no: str, kind: str = "order") -> int:
        """Count a request (``kind``: order or query) for this order; answer how many came
        before it."""
        with self._lock:
            key = (kind, merchant_id, order_no)
            attempt = self._attempts[key]
            self._attempts[key] = attempt + 1
            return attempt

    def count(self, kind: Literal["requests", "callbacks"], what: str) -> None:
        with self._lock:
            counter = self.counters.requests if kind == "requests" else self.counters.callbacks
            counter[what] += 1

    def get(self, merchant_id: str, order_no: str) -> Transaction | None:
        with self._lock:
            return self._orders.get((merchant_id, order_no))

    def record(
        self,
        merchant_id: str,
        order_no: str,
        content: OrderContent,
        make: Callable[[str, int], Transaction],
    ) -> tuple[Transaction, bool]:
        """The order's transaction, created by ``make(channel_ref, epoch)`` if it is new;
        raises :class:`Conflict` if ``order_no`` is known with other content."""
        key = (merchant_id, order_no)
        with self._lock:
            existing = self._orders.get(key)
            if existing is not None:
                if existing.content != content:
                    raise Conflict(order_no)
                return existing, False
            channel_ref = f"{self._ref_prefix}{self.epoch:02d}{next(self._sequence):010d}"
            transaction = make(channel_ref, self.epoch)
            self._orders[key] = transaction
            return transaction, True

    def complete(
        self,
        transaction: Transaction,
        error_code: str | None,
        message: str | None,
        at: dt.datetime,
        trade_date: dt.date,
        fee: int,
    ) -> bool:
        """Move a processing order to succeeded (money moves: one execution) or failed.
        Answers False if the order is no longer processing (already completed, or reset)."""
        with self._lock:
            if transaction.status is not Status.PROCESSING or transaction.epoch != self.epoch:
                return False
            transaction.completed_at = at
            transaction.error_code = error_code
            transaction.message = message
            if error_code is not None:
                transaction.status = Status.FAILED
                return True
            transaction.status = Status.SUCCEEDED
            transaction.fee = fee
            key = (transaction.merchant_id, transaction.order_no)
            self._executions[key] += 1
            if self._executions[key] > 1:
                self._twice.add(key)
            entry = StatementEntry(StatementKind.SUCCESS, transaction, at, fee)
            self._statements.setdefault(trade_date, []).append(entry)
            return True

    def reverse(self, transaction: Transaction, at: dt.datetime, trade_date: dt.date) -> bool:
        with self._lock:
            if transaction.status is not Status.SUCCEEDED or transaction.epoch != self.epoch:
                return False
            transaction.status = Status.REVERSED
            transaction.reversed_at = at
            entry = StatementEntry(StatementKind.REVERSED, transaction, at, 0)
            self._statements.setdefault(trade_date, []).append(entry)
            return True

    def statement(self, day: dt.date) -> list[StatementEntry]:
        with self._lock:
            return list(self._statements.get(day, ()))

    def executions(self, merchant_id: str, order_no: str) -> int:
        with self._lock:
            return self._executions[(merchant_id, order_no)]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_status = Counter(t.status.value for t in self._orders.values())
            return {
                "orders": len(self._orders),
                "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
                "executions": sum(self._executions.values()),
                "executed_orders": len(self._executions),
                "duplicate_executions": {
                    order_no: self._executions[(merchant, order_no)]
                    for merchant, order_no in sorted(self._twice)
                },
                "requests": dict(self.counters.requests),
                "callbacks": dict(self.counters.callbacks),
            }
