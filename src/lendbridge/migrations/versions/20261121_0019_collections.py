"""collections: reminders, collector assignments, the contact log, promises to pay, and the
watermarks of the close of business's collection and reminder steps on the loan

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collection_assignment",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("collector_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by", sa.String(length=128), nullable=False),
        sa.Column("assigned_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("ended_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["collector_id"],
            ["identity_user.id"],
            name=op.f("fk_collection_assignment_collector_id_identity_user"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_collection_assignment_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_assignment")),
    )
    op.create_index(
        "ix_collection_assignment_loan_id_id",
        "collection_assignment",
        ["loan_id", "id"],
        unique=False,
    )

    op.create_table(
        "collection_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('phone','sms','visit','letter','email')",
            name=op.f("ck_collection_contact_channel"),
        ),
        sa.CheckConstraint(
            "outcome IN ('reached','no_answer','wrong_number','promised','refused')",
            name=op.f("ck_collection_contact_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_collection_contact_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_contact")),
    )
    op.create_index(
        "ix_collection_contact_loan_id_id", "collection_contact", ["loan_id", "id"], unique=False
    )

    op.create_table(
        "collection_promise",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=True),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "status IN ('open','kept','broken','cancelled')",
            name=op.f("ck_collection_promise_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_collection_promise_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_collection_promise_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_promise")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_collection_promise_idempotency_key")),
    )
    op.create_index(
        "ix_collection_promise_loan_id_id", "collection_promise", ["loan_id", "id"], unique=False
    )
    op.create_index(
        "ix_collection_promise_status_promised_date",
        "collection_promise",
        ["status", "promised_date"],
        unique=False,
    )

    op.create_table(
        "collection_reminder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("installment", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("template", sa.String(length=48), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('before','on','after')", name=op.f("ck_collection_reminder_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending','sent','undeliverable')",
            name=op.f("ck_collection_reminder_status"),
        ),
        sa.CheckConstraint(
            "offset_days >= 0", name=op.f("ck_collection_reminder_offset_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_collection_reminder_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_reminder")),
        sa.UniqueConstraint(
            "loan_id",
            "installment",
            "kind",
            "offset_days",
            name=op.f("uq_collection_reminder_loan_id_installment_kind_offset_days"),
        ),
    )
    op.create_index(
        "ix_collection_reminder_loan_id_id", "collection_reminder", ["loan_id", "id"], unique=False
    )

    op.add_column("loan", sa.Column("collection_as_of", sa.Date(), nullable=True))
    op.add_column("loan", sa.Column("reminder_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loan") as batch_op:
        batch_op.drop_column("reminder_as_of")
        batch_op.drop_column("collection_as_of")

    op.drop_index("ix_collection_reminder_loan_id_id", table_name="collection_reminder")
    op.drop_table("collection_reminder")
    op.drop_index("ix_collection_promise_status_promised_date", table_name="collection_promise")
    op.drop_index("ix_collection_promise_loan_id_id", table_name="collection_promise")
    op.drop_table("collection_promise")
    op.drop_index("ix_collection_contact_loan_id_id", table_name="collection_contact")
    op.drop_table("collection_contact")
    op.drop_index("ix_collection_assignment_loan_id_id", table_name="collection_assignment")
    op.drop_table("collection_assignment")
