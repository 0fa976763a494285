"""Real-name verification (KYC) records: the verified person behind a customer, their bound
bank cards, enterprises, and the agreements they consented to.

Personal data is encrypted (``EncryptedString``); what must be searchable or unique (resident
id, card number) also has a keyed blind index; what is shown is stored masked.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.crypto import EncryptedString
from lendbridge.kit.models import Base, UTCDateTime


class KycLevel:
    """Ordered levels that later features gate on (``at_least``)."""

    REGISTERED = "registered"
    IDENTITY_VERIFIED = "identity_verified"
    BANK_CARD_BOUND = "bank_card_bound"
    ENHANCED = "enhanced"
    ORDER = (REGISTERED, IDENTITY_VERIFIED, BANK_CARD_BOUND, ENHANCED)

    @classmethod
    def at_least(cls, level: str, required: str) -> bool:
        return cls.ORDER.index(level) >= cls.ORDER.index(required)


class Person(Base):
    """The verified real-name identity of a borrower or investor (one per user, and one user
    per resident id). Birth date, age and region are derived from the resident id when
    needed (decisioning), not stored a second time."""

    __tablename__ = "identity_person"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"), primary_key=True)
    name: Mapped[str] = mapped_column(EncryptedString("identity_person.name"))
    resident_id: Mapped[str] = mapped_column(EncryptedString("identity_person.resident_id"))
    resident_id_index: Mapped[str] = mapped_column(String(64), unique=True)
    name_masked: Mapped[str] = mapped_column(String(64))
    resident_id_masked: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BankCard(Base):
    __tablename__ = "identity_bank_card"
    __table_args__ = (
        CheckConstraint("status IN ('bound','unbound')", name="status"),
        UniqueConstraint("user_id", "card_index", name="uq_identity_bank_card_user_card"),
        Index("ix_identity_bank_card_user_id_status", "user_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    number: Mapped[str] = mapped_column(EncryptedString("identity_bank_card.number"))
    card_index: Mapped[str] = mapped_column(String(64))
    masked: Mapped[str] = mapped_column(String(32))
    bank_code: Mapped[str] = mapped_column(String(16))
    bank_name: Mapped[str] = mapped_column(String(64))
    card_type: Mapped[str | None] = mapped_column(String(8))
    reserved_mobile: Mapped[str] = mapped_column(
        EncryptedString("identity_bank_card.reserved_mobile")
    )
    status: Mapped[str] = mapped_column(String(8))
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    bound_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    unbound_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Enterprise(Base):
    """A company a user acts for (supply-chain finance, later). The registration data is
    public; the legal representative's name is personal data."""

    __tablename__ = "identity_enterprise"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(
        EncryptedString("identity_enterprise.legal_representative")
    )
    legal_representative_masked: Mapped[str] = mapped_column(String(64))
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Agreement(Base):
    """One published version of an agreement's text; versions are never edited."""

    __tablename__ = "identity_agreement"

    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Consent(Base):
    __tablename__ = "identity_consent"
    __table_args__ = (Index("ix_identity_consent_user_id_code", "user_id", "agreement_code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    agreement_code: Mapped[str] = mapped_column(String(48))
    agreement_version: Mapped[int] = mapped_column()
    body_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    client_address: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
