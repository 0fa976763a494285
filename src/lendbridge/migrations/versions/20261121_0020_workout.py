"""workout: restructure and write-off figures on the loan, and the recoveries of written-off
loans

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "loan", sa.Column("restructure_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("loan", sa.Column("restructured_on", sa.Date(), nullable=True))
    op.add_column("loan", sa.Column("written_off_on", sa.Date(), nullable=True))
    op.add_column(
        "loan", sa.Column("written_off", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "loan", sa.Column("recovered", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_table(
        "loan_recovery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booked", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_recovery_amount_positive")),
        sa.CheckConstraint(
            "source IN ('payment_order','credit_balance')", name=op.f("ck_loan_recovery_source")
        ),
        sa.CheckConstraint(
            "status IN ('pending','booked','failed')", name=op.f("ck_loan_recovery_status")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_recovery_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_recovery")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_recovery_idempotency_key")),
    )
    op.create_index("ix_loan_recovery_loan_id_id", "loan_recovery", ["loan_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_loan_recovery_loan_id_id", table_name="loan_recovery")
    op.drop_table("loan_recovery")
    with op.batch_alter_table("loan") as batch:
        batch.drop_column("recovered")
        batch.drop_column("written_off")
        batch.drop_column("written_off_on")
        batch.drop_column("restructured_on")
        batch.drop_column("restructure_count")
