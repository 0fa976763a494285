"""Decision policies (versioned documents under maker-checker) and credit decisions (one row
per decision version of an application, never overwritten)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime


class PolicyStatus(enum.StrEnum):
    DRAFT = "draft"  # saved, activation not asked for (the CLI's proposals)
    PENDING = "pending"  # activation waits for a checker
    ACTIVE = "active"  # the one version decisions use
    RETIRED = "retired"  # was active, replaced by a later activation


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class DecisionPolicy(Base):
    """One version of a named policy. The document never changes; only the status does.
    A partial unique index keeps at most one active version per name."""

    __tablename__ = "decision_policy"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(PolicyStatus)}", name="status"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("checker IS NULL OR checker <> maker", name="four_eyes"),
        Index(
            "ux_decision_policy_active",
            "name",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    maker: Mapped[str] = mapped_column(String(128))
    checker: Mapped[str | None] = mapped_column(String(128))
    approval_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CreditDecision(Base):
    """A decision on an application: its inputs exactly as used, the model and policy
    versions, each rule's outcome, the offer and the reasons. A re-decision is a new version.
    ``application_id`` names a ``loan_application`` (the origination domain), which points
    back at its latest decision through a foreign key; this side has none, so that decisions
    and what-if replays work without that domain (its tests, batch decisioning)."""

    __tablename__ = "credit_decision"
    __table_args__ = (
        UniqueConstraint("application_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("outcome IN ('approve','review','decline')", name="outcome"),
        CheckConstraint("limit_amount >= 0", name="limit_non_negative"),
        Index("ix_credit_decision_decided_at", "decided_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    input_hash: Mapped[str] = mapped_column(String(64))
    input_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(16))
    limit_amount: Mapped[int] = mapped_column(BigInteger)
    offer_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    rate_percent: Mapped[str | None] = mapped_column(String(16))
    apr_percent: Mapped[str | None] = mapped_column(String(16))
    rule_outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(128))
