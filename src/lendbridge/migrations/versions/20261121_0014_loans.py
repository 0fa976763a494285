"""loans: the loan, its installments, its journal of transactions (the loan sub-ledger), its
status changes and the repayments asked for

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_percent", sa.String(length=16), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("upfront_fee", sa.BigInteger(), nullable=False),
        sa.Column("upfront_fee_deducted", sa.Boolean(), nullable=False),
        sa.Column("installment_fee", sa.BigInteger(), nullable=False),
        sa.Column("disbursement_amount", sa.BigInteger(), nullable=False),
        sa.Column("bank_card_id", sa.Uuid(), nullable=False),
        sa.Column("customer_account", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("disbursement_channel", sa.String(length=32), nullable=True),
        sa.Column("disbursement_order_id", sa.Uuid(), nullable=True),
        sa.Column("disbursement_key", sa.String(length=200), nullable=True),
        sa.Column("disbursement_attempts", sa.Integer(), nullable=False),
        sa.Column("disbursement_error", sa.String(length=200), nullable=True),
        sa.Column("principal_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("interest_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("fee_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("penalty_outstanding", sa.BigInteger(), nullable=False),
        sa.Column("interest_accrued_to", sa.Date(), nullable=True),
        sa.Column("accrual_installment", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_disbursement','active','overdue','paid_off','written_off','restructured','cancelled')",
            name=op.f("ck_loan_status"),
        ),
        sa.CheckConstraint("principal > 0", name=op.f("ck_loan_principal_positive")),
        sa.CheckConstraint(
            "principal_outstanding >= 0 AND interest_outstanding >= 0 AND fee_outstanding >= 0 AND penalty_outstanding >= 0",
            name=op.f("ck_loan_outstanding_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["bank_card_id"],
            ["identity_bank_card.id"],
            name=op.f("fk_loan_bank_card_id_identity_bank_card"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["identity_user.id"], name=op.f("fk_loan_customer_id_identity_user")
        ),
        sa.ForeignKeyConstraint(
            ["product_code", "product_version"],
            ["product_version.code", "product_version.version"],
            name=op.f("fk_loan_product_code_product_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_idempotency_key")),
    )
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.create_index("ix_loan_customer_id_id", ["customer_id", "id"], unique=False)
        batch_op.create_index("ix_loan_status_id", ["status", "id"], unique=False)

    op.create_table(
        "loan_installment",
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal_due", sa.BigInteger(), nullable=False),
        sa.Column("interest_due", sa.BigInteger(), nullable=False),
        sa.Column("fee_due", sa.BigInteger(), nullable=False),
        sa.Column("penalty_due", sa.BigInteger(), nullable=False),
        sa.Column("principal_paid", sa.BigInteger(), nullable=False),
        sa.Column("interest_paid", sa.BigInteger(), nullable=False),
        sa.Column("fee_paid", sa.BigInteger(), nullable=False),
        sa.Column("penalty_paid", sa.BigInteger(), nullable=False),
        sa.Column("interest_accrued", sa.BigInteger(), nullable=False),
        sa.Column("accrual_from", sa.Date(), nullable=False),
        sa.Column("accrual_base", sa.BigInteger(), nullable=False),
        sa.Column("fee_charged", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending','paid','cancelled')", name=op.f("ck_loan_installment_state")
        ),
        sa.CheckConstraint(
            "principal_paid <= principal_due AND interest_paid <= interest_due AND fee_paid <= fee_charged AND fee_charged <= fee_due AND penalty_paid <= penalty_due AND interest_accrued <= interest_due AND interest_paid <= interest_accrued",
            name=op.f("ck_loan_installment_paid_within_due"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_installment_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("loan_id", "number", name=op.f("pk_loan_installment")),
    )
    op.create_table(
        "loan_repayment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("to_credit", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('installments','prepayment','payoff')",
            name=op.f("ck_loan_repayment_purpose"),
        ),
        sa.CheckConstraint(
            "status IN ('pending','applied','failed')", name=op.f("ck_loan_repayment_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_repayment_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_repayment_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_repayment")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_repayment_idempotency_key")),
    )
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.create_index("ix_loan_repayment_loan_id_id", ["loan_id", "id"], unique=False)

    op.create_table(
        "loan_transaction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("payment_order_id", sa.Uuid(), nullable=True),
        sa.Column("repayment_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_loan_transaction_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_transaction_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_transaction")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_transaction_idempotency_key")),
    )
    with op.batch_alter_table("loan_transaction", schema=None) as batch_op:
        batch_op.create_index("ix_loan_transaction_loan_id_id", ["loan_id", "id"], unique=False)

    op.create_table(
        "loan_transition",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_loan_transition_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_transition")),
    )
    with op.batch_alter_table("loan_transition", schema=None) as batch_op:
        batch_op.create_index("ix_loan_transition_loan_id_id", ["loan_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loan_transition", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_transition_loan_id_id")

    op.drop_table("loan_transition")
    with op.batch_alter_table("loan_transaction", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_transaction_loan_id_id")

    op.drop_table("loan_transaction")
    with op.batch_alter_table("loan_repayment", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_repayment_loan_id_id")

    op.drop_table("loan_repayment")
    op.drop_table("loan_installment")
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_status_id")
        batch_op.drop_index("ix_loan_customer_id_id")

    op.drop_table("loan")
