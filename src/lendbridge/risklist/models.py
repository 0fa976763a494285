"""The risk list (黑名单): resident ids, mobile numbers and bank cards the platform does not
lend to. Values are stored only as the identity domain's blind indexes (so an entry matches an
existing person, user or card without decrypting anything) and masked for display; the clear
value is never kept. An entry is never deleted: removal records who, when and why."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime


class RiskListKind(enum.StrEnum):
    RESIDENT_ID = "resident_id"
    PHONE = "phone"
    BANK_CARD = "bank_card"


class RiskListSource(enum.StrEnum):
    MANUAL = "manual"  # a risk officer's own decision
    COURT_LIST = "court_list"  # 失信被执行人名单 (the courts' list of judgment defaulters)
    FRAUD_CONFIRMED = "fraud_confirmed"  # fraud confirmed by an investigation


def _in(values: type[enum.StrEnum]) -> str:
    return "(" + ",".join(f"'{v.value}'" for v in values) + ")"


class RiskListEntry(Base):
    """One listing of a value. A partial unique index keeps at most one active (not removed)
    entry per kind and value; a removed value can be listed again as a new entry."""

    __tablename__ = "risk_list_entry"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(RiskListKind)}", name="kind"),
        CheckConstraint(f"source IN {_in(RiskListSource)}", name="source"),
        CheckConstraint(
            "(removed_at IS NULL AND removed_by IS NULL AND removal_reason IS NULL) OR "
            "(removed_at IS NOT NULL AND removed_by IS NOT NULL AND removal_reason IS NOT NULL)",
            name="removal_complete",
        ),
        Index(
            "ux_risk_list_entry_active",
            "kind",
            "value_index",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value_index: Mapped[str] = mapped_column(String(64))
    value_masked: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(128))
    removal_reason: Mapped[str | None] = mapped_column(Text)
