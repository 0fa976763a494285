"""decisions: decision policies (versioned documents; at most one active version per name)
and credit decisions (one row per decision version of an application)

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "decision_policy",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("maker", sa.String(length=128), nullable=False),
        sa.Column("checker", sa.String(length=128), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("activated_at", UTC(timezone=True), nullable=True),
        sa.Column("retired_at", UTC(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','pending','active','retired')",
            name=op.f("ck_decision_policy_status"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_decision_policy_version_positive")),
        sa.CheckConstraint(
            "checker IS NULL OR checker <> maker", name=op.f("ck_decision_policy_four_eyes")
        ),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_decision_policy")),
    )
    op.create_index(
        "ux_decision_policy_active",
        "decision_policy",
        ["name"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "credit_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("input_snapshot", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("policy_name", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("limit_amount", sa.BigInteger(), nullable=False),
        sa.Column("offer_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate_percent", sa.String(length=16), nullable=True),
        sa.Column("apr_percent", sa.String(length=16), nullable=True),
        sa.Column("rule_outcomes", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decided_at", UTC(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('approve','review','decline')", name=op.f("ck_credit_decision_outcome")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_credit_decision_version_positive")),
        sa.CheckConstraint("limit_amount >= 0", name=op.f("ck_credit_decision_limit_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_decision")),
        sa.UniqueConstraint(
            "application_id", "version", name=op.f("uq_credit_decision_application_id_version")
        ),
    )
    op.create_index("ix_credit_decision_decided_at", "credit_decision", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_credit_decision_decided_at", table_name="credit_decision")
    op.drop_table("credit_decision")
    op.drop_index("ux_decision_policy_active", table_name="decision_policy")
    op.drop_table("decision_policy")
