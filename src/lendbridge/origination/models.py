"""Loan applications, their status history, and the signed contracts.

An application keeps what the borrower asked for and declared, the decision it got (the
latest ``credit_decision`` version: score, grade, limit, price, reasons), the offer, and,
once signed, the contract and the loan. Its status only moves along ``states.py``; every
move is a transition row and an audit record.
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
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.crypto import EncryptedString
from lendbridge.kit.models import Base, UTCDateTime


class ApplicationStatus(enum.StrEnum):
    IN_REVIEW = "in_review"  # waits for a loan officer
    OFFERED = "offered"  # approved: the offer waits for the borrower's signature
    DECLINED = "declined"
    EXPIRED = "expired"  # the offer was not signed in time
    WITHDRAWN = "withdrawn"  # by the borrower, before signing
    SIGNED = "signed"  # contract signed, loan created and being paid out
    ACTIVE = "active"  # the loan was paid out


# Statuses in which an application is still "open": the borrower may not apply again.
OPEN_STATUSES = frozenset({ApplicationStatus.IN_REVIEW, ApplicationStatus.OFFERED})


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class LoanApplication(Base):
    __tablename__ = "loan_application"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(ApplicationStatus)}", name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term > 0", name="term_positive"),
        CheckConstraint(
            "monthly_income >= 0 AND declared_monthly_obligations >= 0", name="declared_amounts"
        ),
        CheckConstraint(
            "offer_amount IS NULL OR (offer_amount > 0 AND offer_amount <= amount)",
            name="offer_within_request",
        ),
        Index("ix_loan_application_customer_applied", "customer_id", "applied_on"),
        Index("ix_loan_application_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(240), unique=True)  # customer-scoped
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    product_code: Mapped[str] = mapped_column(String(32))
    product_version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    term: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(24))
    employment: Mapped[str] = mapped_column(String(24))
    monthly_income: Mapped[int] = mapped_column(BigInteger)
    declared_monthly_obligations: Mapped[int] = mapped_column(BigInteger)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[dt.date] = mapped_column(Date)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credit_decision.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(1))
    limit_amount: Mapped[int | None] = mapped_column(BigInteger)
    offer_amount: Mapped[int | None] = mapped_column(BigInteger)
    offer_rate_percent: Mapped[str | None] = mapped_column(String(16))
    offer_apr_percent: Mapped[str | None] = mapped_column(String(16))
    offer_start: Mapped[dt.date | None] = mapped_column(Date)
    offer_expires_on: Mapped[dt.date | None] = mapped_column(Date)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    review_note: Mapped[str | None] = mapped_column(String(500))
    loan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loan.id"), unique=True)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApplicationTransition(Base):
    __tablename__ = "loan_application_transition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan_application.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(128))
    business_date: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LoanContract(Base):
    """The signed contract: the PDF exactly as the borrower signed it (encrypted: it names
    them and their resident id) and its sha256, which the audit trail also records."""

    __tablename__ = "loan_contract"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("loan_application.id"), unique=True
    )
    contract_number: Mapped[str] = mapped_column(String(32), unique=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loan.id"))
    content: Mapped[str] = mapped_column(EncryptedString("loan_contract.content"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    signed_by: Mapped[str] = mapped_column(String(128))
    signing_method: Mapped[str] = mapped_column(String(32))
