"""Loan products: one mutable head row per product code and one immutable row per version.

Storage of the terms: a version's definition is one JSON document, the validated
``ProductIn`` dumped in JSON mode (amounts integers, rates decimal strings), not ~35 typed
columns. Why:

* Reading back gives exactly what was saved: the document *is* the validated request (with
  its defaults filled in), and integers and decimal strings survive JSON unchanged on both
  databases (no ``Numeric`` column, which SQLite stores as a float).
* A version never changes, so nothing queries or updates single terms in SQL: the loan code
  loads a version once and caches it by (code, version). Typed columns would add a
  migration for every new product term and buy no constraint that ``validation.py`` does not
  already enforce, with errors that name the field.
* ``format`` numbers the document's shape, so that a later shape can still read versions
  written under an earlier one (versions are never rewritten).

What SQL does need is typed: the key (code, version), which loans will reference, and the
product's lifecycle (status, newest version), which is the only mutable state. On PostgreSQL
a trigger (migration 0013) refuses ``UPDATE`` and ``DELETE`` of a version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, UTCDateTime

DEFINITION_FORMAT = 1


class Product(Base):
    """The product code's head: its state and its newest version. Locked (``FOR UPDATE``)
    while a version is added or the product is retired, so versions are numbered without
    gaps or duplicates."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("status IN ('active','retired')", name="status"),
        CheckConstraint("latest_version >= 1", name="latest_version_positive"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ProductVersion(Base):
    """One saved definition. Immutable: loans made under it keep exactly these terms."""

    __tablename__ = "product_version"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    code: Mapped[str] = mapped_column(ForeignKey("product.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    format: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(128))
