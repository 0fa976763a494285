"""customer needs: the borrowers' answers to the needs questionnaire

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime

PURPOSES = (
    "'consumption','education','medical','home_improvement','travel','car','business','other'"
)
EMPLOYMENTS = "'employed','civil_servant','self_employed','retired','student','unemployed'"


def upgrade() -> None:
    op.create_table(
        "customer_need",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("monthly_income", sa.BigInteger(), nullable=False),
        sa.Column("monthly_obligations", sa.BigInteger(), nullable=False),
        sa.Column("employment", sa.String(length=32), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.CheckConstraint(f"purpose IN ({PURPOSES})", name=op.f("ck_customer_need_purpose")),
        sa.CheckConstraint(
            f"employment IN ({EMPLOYMENTS})", name=op.f("ck_customer_need_employment")
        ),
        sa.CheckConstraint(
            "amount > 0 AND amount <= 30000000", name=op.f("ck_customer_need_amount_range")
        ),
        sa.CheckConstraint(
            "term_months >= 1 AND term_months <= 60", name=op.f("ck_customer_need_term_range")
        ),
        sa.CheckConstraint(
            "monthly_income >= 0 AND monthly_income <= 1000000000",
            name=op.f("ck_customer_need_income_range"),
        ),
        sa.CheckConstraint(
            "monthly_obligations >= 0 AND monthly_obligations <= 1000000000",
            name=op.f("ck_customer_need_obligations_range"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["identity_user.id"],
            name=op.f("fk_customer_need_customer_id_identity_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_need")),
    )
    op.create_index(
        "ix_customer_need_customer_id_id", "customer_need", ["customer_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customer_need_customer_id_id", table_name="customer_need")
    op.drop_table("customer_need")
