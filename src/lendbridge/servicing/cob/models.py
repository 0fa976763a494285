"""What the close of business records: one row per business date it closed (or is closing),
one per step of that day, and the lease that keeps two closes from running at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime


class CobStatus:
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CobRun(Base):
    """The close of one business date."""

    __tablename__ = "cob_run"

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)  # 2 and more: resumed after a failure
    error: Mapped[str | None] = mapped_column(Text)


class CobStepRun(Base):
    """One step of one day's close: its outcome, what it processed and how long it took
    (summed over resumed attempts)."""

    __tablename__ = "cob_step_run"

    business_date: Mapped[dt.date] = mapped_column(
        ForeignKey("cob_run.business_date"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    items: Mapped[int] = mapped_column(BigInteger)  # what the step processed (loans, orders)
    batches: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class CobLease(Base):
    """A single row: who is closing the day, until when. Taken and renewed by compare-and-set
    on both databases, so a second close refuses to start while the first is alive, and
    a crashed close's lease simply expires."""

    __tablename__ = "cob_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
