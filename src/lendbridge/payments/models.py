"""Payment channels, payment orders, their attempts at the channel, transitions and callbacks.

An order is the platform's promise to move ``amount`` between one of its ledger accounts and
an external party's bank account through a channel. Its status follows the state machine of
``states.py``; each attempt to send it to the channel is a row of its own, written *before*
the request leaves, so a process that dies mid-call leaves a trace that recovery queries.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.crypto import EncryptedString
from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class OrderKind(enum.StrEnum):
    DISBURSEMENT = "disbursement"  # loan proceeds to the borrower
    COLLECTION = "collection"  # auto-debit under a signed debit authorisation (代扣协议)
    REPAYMENT = "repayment"  # a repayment the customer initiates
    PAYOUT = "payout"  # to an investor or partner
    REFUND = "refund"  # money given back to a customer


class OrderStatus(enum.StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


class AttemptState(enum.StrEnum):
    SENDING = "sending"  # written before the request leaves; still so if the process died
    ANSWERED = "answered"  # the channel answered (any outcome)
    UNKNOWN = "unknown"  # no answer: the outcome is settled by querying the channel


class ChannelStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class PaymentChannel(Base):
    """A channel's configuration, as data. Credentials are not stored here: ``secret_env``
    names the environment variable that holds them."""

    __tablename__ = "payment_channel"
    __table_args__ = (CheckConstraint("status IN ('active','disabled')", name="status"),)

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    adapter: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(String(300))
    merchant_id: Mapped[str] = mapped_column(String(64))
    secret_env: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    clearing_account: Mapped[str] = mapped_column(String(64))
    settlement_account: Mapped[str] = mapped_column(String(64))
    fee_account: Mapped[str] = mapped_column(String(64))
    per_order_limit: Mapped[int] = mapped_column(BigInteger)
    daily_limit: Mapped[int] = mapped_column(BigInteger)
    cutoff: Mapped[str] = mapped_column(String(5))  # HH:MM, platform time zone
    fee_fixed: Mapped[int] = mapped_column(BigInteger)
    fee_bps: Mapped[int] = mapped_column(Integer)
    fee_max: Mapped[int | None] = mapped_column(BigInteger)  # a cap per order, if any
    max_attempts: Mapped[int] = mapped_column(Integer)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    error_classes: Mapped[dict[str, str]] = mapped_column(JSON)
    statement_layout: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PaymentChannelUsage(Base):
    """What a channel's orders of one business date use of its daily limit: the amounts of
    those orders that have not failed (``payments/usage.py`` keeps it; the payments check
    proves it equals the orders). A counter, so that creating an order locks one small row
    for the end of its transaction instead of summing the day's orders under a channel lock."""

    __tablename__ = "payment_channel_usage"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    channel: Mapped[str] = mapped_column(
        String(32), ForeignKey("payment_channel.name"), primary_key=True
    )
    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)


class PaymentOrder(Base):
    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('created','submitted','succeeded','failed','reversed')", name="status"
        ),
        CheckConstraint("direction IN ('pay','collect')", name="direction"),
        Index("ix_payment_order_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_payment_order_channel_business_date", "channel", "business_date"),
        Index("ix_payment_order_channel_completed_on", "channel", "completed_on"),
        Index("ix_payment_order_channel_reversed_on", "channel", "reversed_on"),
        Index("ix_payment_order_channel_ref", "channel", "channel_ref"),
        Index("ix_payment_order_manual", "manual"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the channel's order_no
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(ForeignKey("payment_channel.name"))
    account: Mapped[str] = mapped_column(String(64))  # the platform's ledger account
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    party_account: Mapped[str] = mapped_column(EncryptedString("payment_order.party_account"))
    party_account_index: Mapped[str] = mapped_column(String(64), index=True)
    party_account_masked: Mapped[str] = mapped_column(String(32))
    party_name: Mapped[str] = mapped_column(EncryptedString("payment_order.party_name"))
    party_name_masked: Mapped[str] = mapped_column(String(64))
    authorisation_ref: Mapped[str | None] = mapped_column(String(200))  # the debit mandate
    event_type: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(200))
    memo: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[dt.date] = mapped_column(Date)  # when the order was created
    completed_on: Mapped[dt.date | None] = mapped_column(Date)  # business date of the outcome
    reversed_on: Mapped[dt.date | None] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    manual: Mapped[bool] = mapped_column(Boolean)  # waiting in the staff queue
    manual_reason: Mapped[str | None] = mapped_column(String(200))
    hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reversal_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PaymentAttempt(Base):
    __tablename__ = "payment_attempt"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        Index("ix_payment_attempt_state_sent_at", "state", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_order.id"))
    number: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(8))  # submit | query
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PaymentTransition(Base):
    """Every status change of an order, in order: the order's own history (the audit trail
    also records who caused it)."""

    __tablename__ = "payment_transition"
    __table_args__ = (Index("ix_payment_transition_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_order.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PaymentCallback(Base):
    """A verified callback, kept once: the digest of its signed content makes a replay (or a
    channel's duplicate) a no-op."""

    __tablename__ = "payment_callback"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    effect: Mapped[str] = mapped_column(String(200))  # what processing it did, for support
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ManualAction(enum.StrEnum):
    RETRY = "retry"
    CANCEL = "cancel"
    RESOLVE = "resolve"


class PaymentNote(Base):
    """What staff did with an order in the manual queue, and why."""

    __tablename__ = "payment_note"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment_order.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Settlement(Base):
    """One channel's net movement of one business day, booked between its clearing account
    and the platform's bank account."""

    __tablename__ = "payment_settlement"
    __table_args__ = (UniqueConstraint("channel", "business_date"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(ForeignKey("payment_channel.name"))
    business_date: Mapped[dt.date] = mapped_column(Date)
    collected: Mapped[int] = mapped_column(BigInteger)
    collected_count: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(BigInteger)
    paid_count: Mapped[int] = mapped_column(Integer)
    reversed_in: Mapped[int] = mapped_column(BigInteger)  # reversals of payments: money back
    reversed_out: Mapped[int] = mapped_column(BigInteger)  # reversals of collections
    fees: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)  # signed: positive is money into the bank
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fee_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


__all__ = [
    "AttemptState",
    "ChannelStatus",
    "ManualAction",
    "OrderKind",
    "OrderStatus",
    "PaymentAttempt",
    "PaymentCallback",
    "PaymentChannel",
    "PaymentNote",
    "PaymentOrder",
    "PaymentTransition",
    "Settlement",
]
