"""payments: channels, orders, attempts, transitions, callbacks, staff notes, settlements

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_callback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("effect", sa.String(length=200), nullable=False),
        sa.Column("received_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_callback")),
        sa.UniqueConstraint("digest", name=op.f("uq_payment_callback_digest")),
    )
    op.create_table(
        "payment_channel",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("adapter", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=True),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("secret_env", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("clearing_account", sa.String(length=64), nullable=False),
        sa.Column("settlement_account", sa.String(length=64), nullable=False),
        sa.Column("fee_account", sa.String(length=64), nullable=False),
        sa.Column("per_order_limit", sa.BigInteger(), nullable=False),
        sa.Column("daily_limit", sa.BigInteger(), nullable=False),
        sa.Column("cutoff", sa.String(length=5), nullable=False),
        sa.Column("fee_fixed", sa.BigInteger(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("fee_max", sa.BigInteger(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("error_classes", sa.JSON(), nullable=False),
        sa.Column("statement_layout", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active','disabled')", name=op.f("ck_payment_channel_status")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_payment_channel")),
    )
    op.create_table(
        "payment_order",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("party_account", sa.Text(), nullable=False),
        sa.Column("party_account_index", sa.String(length=64), nullable=False),
        sa.Column("party_account_masked", sa.String(length=32), nullable=False),
        sa.Column("party_name", sa.Text(), nullable=False),
        sa.Column("party_name_masked", sa.String(length=64), nullable=False),
        sa.Column("authorisation_ref", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("reversed_on", sa.Date(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("manual_reason", sa.String(length=200), nullable=True),
        sa.Column("hold_id", sa.Uuid(), nullable=True),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("reversal_entry_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('pay','collect')", name=op.f("ck_payment_order_direction")
        ),
        sa.CheckConstraint(
            "status IN ('created','submitted','succeeded','failed','reversed')",
            name=op.f("ck_payment_order_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_order_amount_positive")),
        sa.ForeignKeyConstraint(
            ["channel"],
            ["payment_channel.name"],
            name=op.f("fk_payment_order_channel_payment_channel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_order")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_order_idempotency_key")),
    )
    with op.batch_alter_table("payment_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_order_channel_business_date", ["channel", "business_date"], unique=False
        )
        batch_op.create_index(
            "ix_payment_order_channel_completed_on", ["channel", "completed_on"], unique=False
        )
        batch_op.create_index(
            "ix_payment_order_channel_reversed_on", ["channel", "reversed_on"], unique=False
        )
        batch_op.create_index(
            "ix_payment_order_channel_ref", ["channel", "channel_ref"], unique=False
        )
        batch_op.create_index("ix_payment_order_manual", ["manual"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payment_order_party_account_index"),
            ["party_account_index"],
            unique=False,
        )
        batch_op.create_index(
            "ix_payment_order_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "payment_settlement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("collected", sa.BigInteger(), nullable=False),
        sa.Column("collected_count", sa.Integer(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("reversed_in", sa.BigInteger(), nullable=False),
        sa.Column("reversed_out", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("fee_entry_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"],
            ["payment_channel.name"],
            name=op.f("fk_payment_settlement_channel_payment_channel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_settlement")),
        sa.UniqueConstraint(
            "channel", "business_date", name=op.f("uq_payment_settlement_channel_business_date")
        ),
    )
    op.create_table(
        "payment_attempt",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("sent_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_attempt_order_id_payment_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempt")),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_payment_attempt_order_id_number")),
    )
    with op.batch_alter_table("payment_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_attempt_state_sent_at", ["state", "sent_at"], unique=False
        )

    op.create_table(
        "payment_note",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["payment_order.id"], name=op.f("fk_payment_note_order_id_payment_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_note")),
    )
    with op.batch_alter_table("payment_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_note_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payment_transition",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_transition_order_id_payment_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_transition")),
    )
    with op.batch_alter_table("payment_transition", schema=None) as batch_op:
        batch_op.create_index("ix_payment_transition_order_id_id", ["order_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_transition", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_transition_order_id_id")

    op.drop_table("payment_transition")
    with op.batch_alter_table("payment_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_note_order_id"))

    op.drop_table("payment_note")
    with op.batch_alter_table("payment_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_attempt_state_sent_at")

    op.drop_table("payment_attempt")
    op.drop_table("payment_settlement")
    with op.batch_alter_table("payment_order", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_order_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_payment_order_party_account_index"))
        batch_op.drop_index("ix_payment_order_manual")
        batch_op.drop_index("ix_payment_order_channel_ref")
        batch_op.drop_index("ix_payment_order_channel_reversed_on")
        batch_op.drop_index("ix_payment_order_channel_completed_on")
        batch_op.drop_index("ix_payment_order_channel_business_date")

    op.drop_table("payment_order")
    op.drop_table("payment_channel")
    op.drop_table("payment_callback")
