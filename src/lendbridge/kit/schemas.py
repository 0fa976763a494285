"""Field types shared by every domain's request and response models."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, field_validator

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_date_only(value: object) -> object:
    # Lax parsing would read a number as a Unix time (0 -> 1970-01-01): a wrong type, refused.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_datetime_only(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value
    raise ValueError("must be an ISO 8601 date-time with an offset, e.g. 2026-01-15T10:00:00+08:00")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime_only)]
IsoAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only)]


def _refuse_nul(value: Any) -> Any:
    """NUL cannot be stored in a PostgreSQL text column and never belongs in business text;
    refused here, where the error can name the field, instead of failing in the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul(item)
    return value


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused, and so is NUL in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)
