"""Identity tables: users, roles and permissions as data, one-time codes, refresh-token
families, recovery codes, login history and the risk events it raises.

Personal data (phone) is stored encrypted with a keyed blind index for lookups; secrets
(passwords, one-time codes, refresh tokens, recovery codes) are stored only as hashes.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.kit.crypto import EncryptedString
from lendbridge.kit.models import Base, BigIntPK, UTCDateTime


class UserKind(enum.StrEnum):
    BORROWER = "borrower"
    INVESTOR = "investor"
    STAFF = "staff"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class User(Base):
    __tablename__ = "identity_user"
    __table_args__ = (
        CheckConstraint("kind IN ('borrower','investor','staff')", name="kind"),
        CheckConstraint("status IN ('active','disabled')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Staff sign in with a username; customers with their phone.
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(
        "phone_cipher", EncryptedString("identity_user.phone")
    )
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(
        "email_cipher", EncryptedString("identity_user.email")
    )
    email_masked: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(
        "address_cipher", EncryptedString("identity_user.address")
    )
    address_masked: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE.value)
    kyc_level: Mapped[str] = mapped_column(String(24), default="registered")
    totp_secret: Mapped[str | None] = mapped_column(
        "totp_secret_cipher", EncryptedString("identity_user.totp_secret")
    )
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Role(Base):
    __tablename__ = "identity_role"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Permission(Base):
    __tablename__ = "identity_permission"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))


class RolePermission(Base):
    __tablename__ = "identity_role_permission"

    role_code: Mapped[str] = mapped_column(ForeignKey("identity_role.code"), primary_key=True)
    permission_code: Mapped[str] = mapped_column(
        ForeignKey("identity_permission.code"), primary_key=True
    )


class UserRole(Base):
    __tablename__ = "identity_user_role"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("identity_role.code"), primary_key=True)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str | None] = mapped_column(String(64))


class OneTimeCode(Base):
    """A code sent to a phone for one purpose (registration, step-up for an action)."""

    __tablename__ = "identity_one_time_code"
    __table_args__ = (Index("ix_identity_one_time_code_target", "phone_index", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    phone_index: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RefreshToken(Base):
    """One refresh token of a family (one sign-in). Using a token rotates it: it is marked
    used and replaced. Presenting a used token again means it leaked: the family is revoked."""

    __tablename__ = "identity_refresh_token"
    __table_args__ = (Index("ix_identity_refresh_token_family_id", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInSession(Base):
    """A sign-in (refresh-token family). Access tokens name it; revoking it ends them all."""

    __tablename__ = "identity_session"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class RecoveryCode(Base):
    __tablename__ = "identity_recovery_code"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginEvent(Base):
    __tablename__ = "identity_login_event"
    __table_args__ = (
        Index("ix_identity_login_event_user_id_at", "user_id", "at"),
        Index("ix_identity_login_event_device_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    client_address: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))


class RiskEvent(Base):
    """A behaviour flag raised by sign-in activity, for monitoring to consume."""

    __tablename__ = "identity_risk_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
