"""Ledger tables.

Entries and postings are immutable (append-only, enforced by triggers on PostgreSQL). An
account row carries running totals, a cache that ``ledger check`` recomputes from postings; it
is what makes a balance read O(1) and what the row lock serialises for balance limits.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class Side(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


NORMAL_SIDE: dict[AccountType, Side] = {
    AccountType.ASSET: Side.DEBIT,
    AccountType.EXPENSE: Side.DEBIT,
    AccountType.LIABILITY: Side.CREDIT,
    AccountType.EQUITY: Side.CREDIT,
    AccountType.INCOME: Side.CREDIT,
}


class AccountStatus(enum.StrEnum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


class HoldStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


# Available balance in the account's normal direction; pending movements against the account
# count, pending movements in its favour do not (a hold is money promised away, not received).
_AVAILABLE_SQL = (
    "(CASE WHEN normal_side = 'debit' "
    "THEN debits_posted - credits_posted - credits_pending "
    "ELSE credits_posted - debits_posted - debits_pending END)"
)


class Account(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("id", "currency"),  # target of the postings' (account, currency) key
        CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 "
            "AND debits_pending >= 0 AND credits_pending >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint(
            f"min_balance IS NULL OR {_AVAILABLE_SQL} >= min_balance", name="balance_limit"
        ),
        CheckConstraint("type IN ('asset','liability','equity','income','expense')", name="type"),
        CheckConstraint("normal_side IN ('debit','credit')", name="normal_side"),
        CheckConstraint("status IN ('open','frozen','closed')", name="status"),
        Index("ix_ledger_account_owner", "owner_type", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    normal_side: Mapped[str] = mapped_column(String(6))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(8), default=AccountStatus.OPEN.value)
    owner_type: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    min_balance: Mapped[int | None] = mapped_column(BigInteger)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Batch(Base):
    """An atomic group: entries posted all together or not at all, under one idempotency key."""

    __tablename__ = "ledger_batch"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Entry(Base):
    # Keys are at most 200 characters at the API; the column leaves room for the suffixes a
    # service derives from one key (an FX conversion books ":source" and ":target").
    __tablename__ = "ledger_entry"
    # Most entries have no batch, link, hold or reversal: partial indexes keep those columns
    # from costing an index write on every entry.
    __table_args__ = (
        Index(
            "ix_ledger_entry_event",
            "event_type",
            "event_id",
            postgresql_where=text("event_id IS NOT NULL"),
            sqlite_where=text("event_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_entry_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_entry_hold_id",
            "hold_id",
            unique=True,
            postgresql_where=text("hold_id IS NOT NULL"),
            sqlite_where=text("hold_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_entry_batch_id",
            "batch_id",
            postgresql_where=text("batch_id IS NOT NULL"),
            sqlite_where=text("batch_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_entry_link_id",
            "link_id",
            postgresql_where=text("link_id IS NOT NULL"),
            sqlite_where=text("link_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    event_type: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(200))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entry.id"))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_batch.id"))
    link_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    posting_count: Mapped[int] = mapped_column(Integer)
    # PostgreSQL fills this with txid_current(): its triggers let postings join only entries
    # created in the same transaction. Unused on SQLite.
    created_txid: Mapped[int | None] = mapped_column(BigInteger)


class Posting(Base):
    """One line of an entry. On PostgreSQL the two foreign keys below are checked set-wise
    per statement by a trigger instead of row by row (migration 0002)."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "currency"], ["ledger_account.id", "ledger_account.currency"]
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('debit','credit')", name="side"),
        UniqueConstraint("entry_id", "line"),
        Index("ix_ledger_posting_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entry.id"))
    line: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    side: Mapped[str] = mapped_column(String(6))
    amount: Mapped[int] = mapped_column(BigInteger)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    # The account's posted balance (normal direction) right after this posting, in booking
    # order: statements show a running balance without summing earlier postings.
    balance_after: Mapped[int] = mapped_column(BigInteger)


class AccountDay(Base):
    """Per account and effective date, the posted totals of that day: balance-as-of reads sum
    days, never postings."""

    __tablename__ = "ledger_account_day"

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    debits: Mapped[int] = mapped_column(BigInteger)
    credits: Mapped[int] = mapped_column(BigInteger)


class Hold(Base):
    """A two-phase transfer: pending now, later posted (fully or partly), voided or expired."""

    __tablename__ = "ledger_hold"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "posted_amount IS NULL OR (posted_amount > 0 AND posted_amount <= amount)",
            name="posted_within_pending",
        ),
        CheckConstraint("status IN ('pending','posted','voided','expired')", name="status"),
        Index("ix_ledger_hold_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    posted_amount: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    event_type: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entry.id"))


class FxConversion(Base):
    """A currency exchange: two linked entries, one per currency, through FX position accounts,
    with the rate that was applied."""

    __tablename__ = "ledger_fx_conversion"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source_entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entry.id"))
    target_entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_entry.id"))
    source_currency: Mapped[str] = mapped_column(String(3))
    target_currency: Mapped[str] = mapped_column(String(3))
    source_amount: Mapped[int] = mapped_column(BigInteger)
    target_amount: Mapped[int] = mapped_column(BigInteger)
    # Decimal as its canonical string: SQLite would store NUMERIC as a float.
    rate: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
