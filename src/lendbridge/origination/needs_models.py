"""The needs questionnaire's answers: what a borrower wants to borrow, for how long and why,
and what they earn and already pay each month. Every answer is a new row (the history is
kept: a recommendation or a decision can say which answer it used); the latest counts.

Amounts are integer fen with the currency. Income and obligations are plain integers, not
encrypted: they are figures, not identifiers (nothing here names or reaches the person), and a
credit decision's input snapshot holds the same figures (``decisions.facts``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime
from lendbridge.origination.vocabulary import Employment, Purpose

# 300,000 yuan: the most a person may borrow on the platform (the policies' person cap).
MAX_NEED_AMOUNT = 30_000_000
MAX_TERM_MONTHS = 60
# 10 million yuan a month: past any real borrower's income or payments, within a bigint.
MAX_MONTHLY_AMOUNT = 1_000_000_000


def _in(values: type[Purpose] | type[Employment]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class CustomerNeed(Base):
    """One answer to the needs questionnaire (never updated: a new answer is a new row)."""

    __tablename__ = "customer_need"
    __table_args__ = (
        CheckConstraint(f"purpose IN {_in(Purpose)}", name="purpose"),
        CheckConstraint(f"employment IN {_in(Employment)}", name="employment"),
        CheckConstraint(f"amount > 0 AND amount <= {MAX_NEED_AMOUNT}", name="amount_range"),
        CheckConstraint(
            f"term_months >= 1 AND term_months <= {MAX_TERM_MONTHS}", name="term_range"
        ),
        CheckConstraint(
            f"monthly_income >= 0 AND monthly_income <= {MAX_MONTHLY_AMOUNT}",
            name="income_range",
        ),
        CheckConstraint(
            f"monthly_obligations >= 0 AND monthly_obligations <= {MAX_MONTHLY_AMOUNT}",
            name="obligations_range",
        ),
        # The latest answer of a customer: the newest id (UUIDv7, time-ordered) first.
        Index("ix_customer_need_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    term_months: Mapped[int] = mapped_column(Integer)
    monthly_income: Mapped[int] = mapped_column(BigInteger)
    monthly_obligations: Mapped[int] = mapped_column(BigInteger)
    employment: Mapped[str] = mapped_column(String(32))
    answered_on: Mapped[dt.date] = mapped_column(Date)  # the business date
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
