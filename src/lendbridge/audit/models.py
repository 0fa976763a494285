"""Audit tables.

``audit_record`` is the trail: append-only (on PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE), one row per audited event, each carrying the hash of the previous row. Its
primary key ``seq`` is the chain's total order, assigned consecutively when the writing
transaction commits. ``audit_chain_head`` is one row, the last ``seq`` and its hash: the
writers' lock and the value ``verify`` checks the end of the chain against. It is updated in
place on every commit that writes records; it is not a record. ``audit_seal_request`` holds,
on PostgreSQL, a transaction's records from just before its COMMIT until the commit seals
them (see ``service``); it is empty outside a committing transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.models import Base, BigIntPK, UTCDateTime

HEAD_ID = 1
GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1, and the head's hash while the chain is empty."""

# Column widths; ``service.record`` checks them so that an oversized value fails where it is
# passed rather than at commit, when the records are written.
ACTION_LEN = 64
TARGET_TYPE_LEN = 64
TARGET_ID_LEN = 128
ACTOR_ID_LEN = 128
ROLE_LEN = 64
ADDRESS_LEN = 64  # an IPv6 address with zone fits in 45
REQUEST_ID_LEN = 64
DEVICE_ID_LEN = 128


class AuditRecord(Base):
    __tablename__ = "audit_record"
    # Every query of the API filters on one of these and pages on seq: each index ends with
    # seq so a page is a range scan that stops after ``limit`` rows.
    __table_args__ = (
        Index("ix_audit_record_actor_seq", "actor_id", "seq"),
        Index("ix_audit_record_target_seq", "target_type", "target_id", "seq"),
        Index("ix_audit_record_action_seq", "action", "seq"),
        Index("ix_audit_record_recorded_at", "recorded_at"),
        # Daily anchors: the last record of a business day.
        Index("ix_audit_record_business_date_seq", "business_date", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    business_date: Mapped[dt.date] = mapped_column(Date)
    actor_id: Mapped[str | None] = mapped_column(String(ACTOR_ID_LEN))
    actor_role: Mapped[str | None] = mapped_column(String(ROLE_LEN))
    client_address: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_LEN))
    device_id: Mapped[str | None] = mapped_column(String(DEVICE_ID_LEN))
    action: Mapped[str] = mapped_column(String(ACTION_LEN))
    target_type: Mapped[str] = mapped_column(String(TARGET_TYPE_LEN))
    target_id: Mapped[str | None] = mapped_column(String(TARGET_ID_LEN))
    # Stored as the exact canonical JSON text that was hashed (PostgreSQL's json type keeps
    # the text as given), so verification hashes the stored text without re-serialising it.
    before: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    after: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditSealRequest(Base):
    """PostgreSQL: one row per committing transaction that carries records, inserted just
    before COMMIT; a deferred constraint trigger seals the records into the chain at commit
    and deletes the row (migration 0004, where the table is UNLOGGED: its rows never outlive
    their transaction). Declared here so that schema comparison and test cleanup know it;
    unused on SQLite."""

    __tablename__ = "audit_seal_request"

    txid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    records: Mapped[str] = mapped_column(Text)
    """A JSON array of the records' fields, before/after as canonical JSON text."""
    contents: Mapped[str] = mapped_column(Text)
    """The records' content digests, comma-separated, in the same order."""
