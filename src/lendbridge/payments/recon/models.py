"""Reconciliation runs (one per imported statement file) and their breaks (the work queue).

Matched lines are counted on the run, never stored one by one: a statement of a million
lines that reconciles cleanly writes one run row. Each break is one row, whatever its kind,
with the statement's side and the platform's side of the disagreement.
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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class BreakKind(enum.StrEnum):
    MISSING_ON_PLATFORM = "missing_on_platform"  # a statement line with no order
    MISSING_AT_CHANNEL = "missing_at_channel"  # an executed order with no statement line
    AMOUNT_MISMATCH = "amount_mismatch"  # same reference, different amount (or direction)
    STATUS_MISMATCH = "status_mismatch"  # e.g. SUCCESS on the statement, failed here
    UNREADABLE_LINE = "unreadable_line"  # a line the parser could not read


class BreakStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(enum.StrEnum):
    ADJUSTED = "adjusted"  # an adjusting ledger entry, approved by a checker
    LINKED = "linked"  # the line belongs to an order after all
    EXPLAINED = "explained"  # a written explanation
    REMATCHED = "rematched"  # a later statement carried the missing line (automatic)


class Movement(enum.StrEnum):
    """Which of an order's money movements a line or a break is about."""

    SUCCESS = "success"  # the order executed (status succeeded, or reversed later)
    REVERSAL = "reversal"  # the channel moved the money back


def _values(kinds: type[enum.StrEnum]) -> str:
    return ",".join(f"'{k.value}'" for k in kinds)


class ReconRun(Base):
    """One imported statement file of a channel and what reconciling it found."""

    __tablename__ = "recon_run"
    __table_args__ = (
        UniqueConstraint("channel", "import_key"),
        Index("ix_recon_run_channel_date_to", "channel", "date_to"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(ForeignKey("payment_channel.name"))
    file_sha256: Mapped[str] = mapped_column(String(64))
    # What makes an import the same as an earlier one: the file's SHA-256, and the statement
    # date when one was given (an empty statement of one day is the same bytes as another's).
    import_key: Mapped[str] = mapped_column(String(80))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))  # the channel's
    business_date: Mapped[dt.date] = mapped_column(Date)  # when it was imported
    date_from: Mapped[dt.date] = mapped_column(Date)  # the statement's trade dates
    date_to: Mapped[dt.date] = mapped_column(Date)
    date_tolerance_days: Mapped[int] = mapped_column(Integer)
    amount_tolerance: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int] = mapped_column(Integer)  # data lines, readable or not
    bad_lines: Mapped[int] = mapped_column(Integer)
    statement_lines: Mapped[int] = mapped_column(Integer)
    statement_amount: Mapped[int] = mapped_column(BigInteger)
    platform_movements: Mapped[int] = mapped_column(Integer)
    platform_amount: Mapped[int] = mapped_column(BigInteger)
    matched_lines: Mapped[int] = mapped_column(Integer)
    matched_orders: Mapped[int] = mapped_column(Integer)
    matched_amount: Mapped[int] = mapped_column(BigInteger)
    breaks: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # per rule, per kind, samples
    actor: Mapped[str] = mapped_column(String(64))
    elapsed_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReconBreak(Base):
    """A disagreement between a statement and the platform, until someone resolves it."""

    __tablename__ = "recon_break"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(BreakKind)})", name="kind"),
        CheckConstraint(f"status IN ({_values(BreakStatus)})", name="status"),
        CheckConstraint(
            f"resolution IS NULL OR resolution IN ({_values(Resolution)})", name="resolution"
        ),
        Index("ix_recon_break_run_id_id", "run_id", "id"),
        Index("ix_recon_break_channel_status_raised_on", "channel", "status", "raised_on"),
        Index("ix_recon_break_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recon_run.id"))
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    movement: Mapped[str | None] = mapped_column(String(8))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    line_no: Mapped[int | None] = mapped_column(Integer)
    lines: Mapped[list[int] | None] = mapped_column(JSON)  # when several lines are involved
    orders: Mapped[list[str] | None] = mapped_column(JSON)  # when several orders are involved
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    order_no: Mapped[str | None] = mapped_column(String(64))  # as the statement printed it
    trade_date: Mapped[dt.date | None] = mapped_column(Date)
    direction: Mapped[str | None] = mapped_column(String(8))
    currency: Mapped[str | None] = mapped_column(String(3))
    statement_amount: Mapped[int | None] = mapped_column(BigInteger)
    platform_amount: Mapped[int | None] = mapped_column(BigInteger)
    statement_status: Mapped[str | None] = mapped_column(String(16))
    platform_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(8))
    raised_on: Mapped[dt.date] = mapped_column(Date)  # business date of the run
    resolution: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    linked_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approval_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


__all__ = ["BreakKind", "BreakStatus", "Movement", "ReconBreak", "ReconRun", "Resolution"]
