"""The table of the loan workout: money recovered after a write-off (``recovery.py``).

Restructures and write-offs need no table of their own: they are loan transactions
(``restructure``, ``write_off``), status changes and a few columns on the loan; the approval
request that ran them is in ``approval_request``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime


class RecoverySource(enum.StrEnum):
    PAYMENT_ORDER = "payment_order"  # collected from the customer's card through a channel
    CREDIT_BALANCE = "credit_balance"  # taken from money already in the customer's balance


class RecoveryStatus(enum.StrEnum):
    PENDING = "pending"  # the payment order is on its way
    BOOKED = "booked"  # booked as recovery income
    FAILED = "failed"  # the payment order failed: nothing was collected


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class LoanRecovery(Base):
    """Money recovered on a written-off loan (已核销贷款收回): asked for under an idempotency
    key, booked as recovery income once the money is in the customer's credit balance."""

    __tablename__ = "loan_recovery"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"source IN {_in(RecoverySource)}", name="source"),
        CheckConstraint(f"status IN {_in(RecoveryStatus)}", name="status"),
        Index("ix_loan_recovery_loan_id_id", "loan_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # asked for
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    booked: Mapped[int] = mapped_column(BigInteger)  # booked as recovery income
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    booked_on: Mapped[dt.date | None] = mapped_column(Date)  # business date
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(128))


__all__ = ["LoanRecovery", "RecoverySource", "RecoveryStatus"]
