"""The model registry's table: one row per trained model version.

The artifact (the exported model, JSON bytes) is stored in the row itself, with its sha256
beside it; loading recomputes the hash and refuses a mismatch. Artifacts are tens to a few
hundred kilobytes, small enough for the database, and keeping them there means a backup of
the database is a backup of the models, with no second store to keep in step.

At most one row is the champion (a partial unique index); promotion changes ``status``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime


class ModelStatus(enum.StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"
    RETIRED = "retired"


class ScoringModel(Base):
    __tablename__ = "scoring_model"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        CheckConstraint("status IN ('champion','challenger','retired')", name="status"),
        CheckConstraint("family IN ('scorecard','gbm')", name="family"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(
            "ix_scoring_model_one_champion",
            "status",
            unique=True,
            postgresql_where=text("status = 'champion'"),
            sqlite_where=text("status = 'champion'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    data_sha256: Mapped[str] = mapped_column(String(64))
    data_rows: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
