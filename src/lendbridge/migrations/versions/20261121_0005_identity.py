"""identity: users, roles and permissions as data, one-time codes, sign-in sessions and
refresh tokens, recovery codes, login history, risk events; real-name verification (persons,
bank cards, enterprises), agreements and consents. Personal data columns are plain text here:
the application stores them encrypted (kit/crypto.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "identity_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("phone_cipher", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=16), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kyc_level", sa.String(length=24), nullable=False),
        sa.Column("totp_secret_cipher", sa.Text(), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('borrower','investor','staff')", name=op.f("ck_identity_user_kind")
        ),
        sa.CheckConstraint("status IN ('active','disabled')", name=op.f("ck_identity_user_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_user")),
        sa.UniqueConstraint("phone_index", name=op.f("uq_identity_user_phone_index")),
        sa.UniqueConstraint("username", name=op.f("uq_identity_user_username")),
    )
    op.create_table(
        "identity_role",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_identity_role")),
    )
    op.create_table(
        "identity_permission",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_identity_permission")),
    )
    op.create_table(
        "identity_role_permission",
        sa.Column("role_code", sa.String(length=32), nullable=False),
        sa.Column("permission_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["permission_code"],
            ["identity_permission.code"],
            name=op.f("fk_identity_role_permission_permission_code_identity_permission"),
        ),
        sa.ForeignKeyConstraint(
            ["role_code"],
            ["identity_role.code"],
            name=op.f("fk_identity_role_permission_role_code_identity_role"),
        ),
        sa.PrimaryKeyConstraint(
            "role_code", "permission_code", name=op.f("pk_identity_role_permission")
        ),
    )
    op.create_table(
        "identity_user_role",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role_code", sa.String(length=32), nullable=False),
        sa.Column("granted_at", UTC(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["role_code"],
            ["identity_role.code"],
            name=op.f("fk_identity_user_role_role_code_identity_role"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_user_role_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("user_id", "role_code", name=op.f("pk_identity_user_role")),
    )
    op.create_table(
        "identity_one_time_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.Column("consumed_at", UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_one_time_code")),
    )
    op.create_index(
        "ix_identity_one_time_code_target",
        "identity_one_time_code",
        ["phone_index", "purpose"],
        unique=False,
    )
    op.create_table(
        "identity_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("revoked_at", UTC(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_session_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_session")),
    )
    op.create_index(
        op.f("ix_identity_session_user_id"), "identity_session", ["user_id"], unique=False
    )
    op.create_table(
        "identity_refresh_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UTC(timezone=True), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.Column("used_at", UTC(timezone=True), nullable=True),
        sa.Column("revoked_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_refresh_token_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_refresh_token_token_hash")),
    )
    op.create_index(
        "ix_identity_refresh_token_family_id",
        "identity_refresh_token",
        ["family_id"],
        unique=False,
    )
    op.create_table(
        "identity_recovery_code",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_recovery_code_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_recovery_code")),
    )
    op.create_index(
        op.f("ix_identity_recovery_code_user_id"),
        "identity_recovery_code",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "identity_login_event",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_login_event")),
    )
    op.create_index("ix_identity_login_event_user_id_at", "identity_login_event", ["user_id", "at"])
    op.create_index("ix_identity_login_event_device_id", "identity_login_event", ["device_id"])
    op.create_table(
        "identity_risk_event",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_risk_event")),
    )
    op.create_index(
        op.f("ix_identity_risk_event_user_id"), "identity_risk_event", ["user_id"], unique=False
    )

    # Real-name verification (KYC), agreements and consents.
    op.create_table(
        "identity_agreement",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_identity_agreement")),
    )
    op.create_table(
        "identity_bank_card",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("card_index", sa.String(length=64), nullable=False),
        sa.Column("masked", sa.String(length=32), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("card_type", sa.String(length=8), nullable=True),
        sa.Column("reserved_mobile", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("provider_reference", sa.String(length=64), nullable=True),
        sa.Column("bound_at", UTC(timezone=True), nullable=False),
        sa.Column("unbound_at", UTC(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('bound','unbound')", name=op.f("ck_identity_bank_card_status")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_bank_card_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_bank_card")),
        sa.UniqueConstraint("user_id", "card_index", name="uq_identity_bank_card_user_card"),
    )
    op.create_index(
        "ix_identity_bank_card_user_id_status",
        "identity_bank_card",
        ["user_id", "status"],
        unique=False,
    )
    op.create_table(
        "identity_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("agreement_code", sa.String(length=48), nullable=False),
        sa.Column("agreement_version", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", UTC(timezone=True), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("withdrawn_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_consent_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_consent")),
    )
    op.create_index(
        "ix_identity_consent_user_id_code",
        "identity_consent",
        ["user_id", "agreement_code"],
        unique=False,
    )
    op.create_table(
        "identity_enterprise",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("legal_representative", sa.Text(), nullable=False),
        sa.Column("legal_representative_masked", sa.String(length=64), nullable=False),
        sa.Column("provider_reference", sa.String(length=64), nullable=True),
        sa.Column("verified_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_enterprise_user_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_enterprise")),
        sa.UniqueConstraint("uscc", name=op.f("uq_identity_enterprise_uscc")),
    )
    op.create_index(
        op.f("ix_identity_enterprise_user_id"), "identity_enterprise", ["user_id"], unique=False
    )
    op.create_table(
        "identity_person",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.Text(), nullable=False),
        sa.Column("resident_id_index", sa.String(length=64), nullable=False),
        sa.Column("name_masked", sa.String(length=64), nullable=False),
        sa.Column("resident_id_masked", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_reference", sa.String(length=64), nullable=True),
        sa.Column("verified_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["identity_user.id"], name=op.f("fk_identity_person_user_id_identity_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_identity_person")),
        sa.UniqueConstraint("resident_id_index", name=op.f("uq_identity_person_resident_id_index")),
    )


def downgrade() -> None:
    for table in (
        "identity_person",
        "identity_enterprise",
        "identity_consent",
        "identity_bank_card",
        "identity_agreement",
        "identity_risk_event",
        "identity_login_event",
        "identity_recovery_code",
        "identity_refresh_token",
        "identity_session",
        "identity_one_time_code",
        "identity_user_role",
        "identity_role_permission",
        "identity_permission",
        "identity_role",
        "identity_user",
    ):
        op.drop_table(table)
