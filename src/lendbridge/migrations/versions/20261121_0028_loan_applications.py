"""loan applications: the application (request, declared facts, model inputs, decision,
offer, loan), its status history, and the signed contract (encrypted PDF and its sha256)

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime
STATUSES = "('in_review','offered','declined','expired','withdrawn','signed','active')"


def upgrade() -> None:
    op.create_table(
        "loan_application",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=240), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("employment", sa.String(length=24), nullable=False),
        sa.Column("monthly_income", sa.BigInteger(), nullable=False),
        sa.Column("declared_monthly_obligations", sa.BigInteger(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("limit_amount", sa.BigInteger(), nullable=True),
        sa.Column("offer_amount", sa.BigInteger(), nullable=True),
        sa.Column("offer_rate_percent", sa.String(length=16), nullable=True),
        sa.Column("offer_apr_percent", sa.String(length=16), nullable=True),
        sa.Column("offer_start", sa.Date(), nullable=True),
        sa.Column("offer_expires_on", sa.Date(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("signed_at", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_loan_application_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_application_amount_positive")),
        sa.CheckConstraint("term > 0", name=op.f("ck_loan_application_term_positive")),
        sa.CheckConstraint(
            "monthly_income >= 0 AND declared_monthly_obligations >= 0",
            name=op.f("ck_loan_application_declared_amounts"),
        ),
        sa.CheckConstraint(
            "offer_amount IS NULL OR (offer_amount > 0 AND offer_amount <= amount)",
            name=op.f("ck_loan_application_offer_within_request"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["identity_user.id"],
            name=op.f("fk_loan_application_customer_id_identity_user"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decision.id"],
            name=op.f("fk_loan_application_decision_id_credit_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_application_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_application")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_application_idempotency_key")),
        sa.UniqueConstraint("loan_id", name=op.f("uq_loan_application_loan_id")),
    )
    op.create_index(
        "ix_loan_application_customer_applied", "loan_application", ["customer_id", "applied_on"]
    )
    op.create_index(
        "ix_loan_application_status_created", "loan_application", ["status", "created_at"]
    )
    op.create_table(
        "loan_application_transition",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name=op.f("fk_loan_application_transition_application_id_loan_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_application_transition")),
    )
    op.create_index(
        op.f("ix_loan_application_transition_application_id"),
        "loan_application_transition",
        ["application_id"],
    )
    op.create_table(
        "loan_contract",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("contract_number", sa.String(length=32), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signed_at", UTC(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(length=128), nullable=False),
        sa.Column("signing_method", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["loan_application.id"],
            name=op.f("fk_loan_contract_application_id_loan_application"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_contract_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_contract")),
        sa.UniqueConstraint("application_id", name=op.f("uq_loan_contract_application_id")),
        sa.UniqueConstraint("contract_number", name=op.f("uq_loan_contract_contract_number")),
    )


def downgrade() -> None:
    op.drop_table("loan_contract")
    op.drop_index(
        op.f("ix_loan_application_transition_application_id"),
        table_name="loan_application_transition",
    )
    op.drop_table("loan_application_transition")
    op.drop_index("ix_loan_application_status_created", table_name="loan_application")
    op.drop_index("ix_loan_application_customer_applied", table_name="loan_application")
    op.drop_table("loan_application")
