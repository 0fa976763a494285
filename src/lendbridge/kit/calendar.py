"""The business date: the accounting day the platform is in, advanced only by the daily close.

Stored in one row so every process agrees on it; business logic reads it instead of the wall
clock, which makes the platform replayable.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.selectable import ScalarSelect

from lendbridge.kit import clock
from lendbridge.kit.models import Base, UTCDateTime

SINGLETON_ID = 1


class BusinessCalendar(Base):
    __tablename__ = "platform_business_date"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def business_date_column() -> ScalarSelect[dt.date]:
    """A scalar subquery for the business date, to fold the read into a larger statement."""
    return (
        select(BusinessCalendar.business_date)
        .where(BusinessCalendar.id == SINGLETON_ID)
        .scalar_subquery()
    )


_CACHE = "lendbridge.calendar.business_date"
# Built once (its cache key then too): read by nearly every request.
_READ = select(BusinessCalendar.business_date).where(BusinessCalendar.id == SINGLETON_ID)


def business_date(session: Session) -> dt.date:
    """The business date, read once per transaction: every booking of one transaction
    counts on the same day even if the daily close commits meanwhile."""
    cached: dt.date | None = session.info.get(_CACHE)
    if cached is not None:
        return cached
    value = session.scalar(_READ)
    if value is None:
        raise RuntimeError("the business date is not initialised; run `lendbridge init`")
    session.info[_CACHE] = value
    return value


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_business_date(session: Session) -> None:
    session.info.pop(_CACHE, None)


def ensure_business_date(session: Session, timezone: str) -> dt.date:
    """Start the calendar at today's date in the platform's timezone, if it has not started."""
    row = session.get(BusinessCalendar, SINGLETON_ID)
    if row is not None:
        return row.business_date
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    session.add(BusinessCalendar(id=SINGLETON_ID, business_date=today, updated_at=clock.now()))
    session.flush()
    return today


def set_business_date(session: Session, value: dt.date) -> None:
    session.info.pop(_CACHE, None)
    row = session.get(BusinessCalendar, SINGLETON_ID)
    if row is None:
        session.add(BusinessCalendar(id=SINGLETON_ID, business_date=value, updated_at=clock.now()))
    else:
        row.business_date = value
        row.updated_at = clock.now()
    session.flush()
