"""What the platform needs from a payment channel (a bank or a third-party payment company).

Every channel is driven through the same five operations; an adapter translates them to the
channel's own protocol. Adapters never touch the database: the payments service records
what they answer.

The platform identifies an order to the channel by ``order_no`` (the payment order's id),
the same on every attempt, so a channel that deduplicates by merchant order number never
executes an order twice even if the platform re-sends it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Direction(enum.StrEnum):
    """Which way the money moves at the channel."""

    PAY = "pay"  # platform -> external account (disbursement, payout, refund)
    COLLECT = "collect"  # external account -> platform (auto-debit, customer repayment)


class Outcome(enum.StrEnum):
    """What the channel says about an order."""

    PROCESSING = "processing"  # accepted, final answer later (query or callback)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # see ``error_code``; final or retryable per the channel's table
    REVERSED = "reversed"  # succeeded earlier, then undone by the channel (e.g. a return)
    NOT_FOUND = "not_found"  # the channel never received it: safe to send again
    UNKNOWN = "unknown"  # no answer (timeout, connection reset): query before re-sending


class ErrorClass(enum.StrEnum):
    FINAL = "final"  # retrying cannot help (insufficient funds, closed account)
    RETRYABLE = "retryable"  # a transient condition at the channel (system busy, timeout)


@dataclass(frozen=True)
class ChannelRequest:
    order_no: str
    direction: Direction
    amount: int  # minor units
    currency: str
    account_number: str  # clear text only in memory, on the way to the channel
    account_name: str
    callback_url: str | None = None
    memo: str = ""


@dataclass(frozen=True)
class ChannelAnswer:
    order_no: str
    outcome: Outcome
    channel_ref: str | None = None
    error_code: str | None = None
    message: str | None = None
    completed_at: dt.datetime | None = None  # timezone-aware, when the channel finished it
    amount: int | None = None  # what the channel says it moved, when it says
    raw: Mapping[str, object] = field(default_factory=dict)  # for the attempt's record


class CallbackRejected(Exception):
    """A callback that must not be processed: bad signature, stale or malformed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StatementLine:
    """One line of a channel statement, parsed (the column layout is channel configuration)."""

    line_no: int
    trade_date: dt.date
    channel_ref: str | None
    order_no: str | None
    direction: Direction
    amount: int
    currency: str
    status: str
    fee: int = 0
    account: str | None = None  # as the channel prints it (usually masked)


class ChannelAdapter(Protocol):
    """One payment channel. Implementations must be safe to call from several threads."""

    name: str

    def submit(self, request: ChannelRequest) -> ChannelAnswer:
        """Send an order. A transport failure or timeout returns ``Outcome.UNKNOWN``, never
        raises: the caller then queries before anything is sent again."""
        ...

    def query(self, order_no: str) -> ChannelAnswer:
        """Ask for an order's status (``NOT_FOUND`` if the channel never received it;
        ``UNKNOWN`` if the channel could not be reached)."""
        ...

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: dt.datetime
    ) -> ChannelAnswer:
        """Verify a callback's signature and freshness and parse it; raise
        :class:`CallbackRejected` otherwise."""
        ...

    def fetch_statement(self, day: dt.date) -> Iterator[bytes]:
        """The channel's statement file for ``day``, as a stream of byte chunks."""
        ...

    def classify(self, error_code: str) -> ErrorClass:
        """Whether a failure with this code is final or worth retrying."""
        ...
