"""recon: reconciliation runs and their breaks

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recon_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("import_key", sa.String(length=80), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("date_tolerance_days", sa.Integer(), nullable=False),
        sa.Column("amount_tolerance", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("bad_lines", sa.Integer(), nullable=False),
        sa.Column("statement_lines", sa.Integer(), nullable=False),
        sa.Column("statement_amount", sa.BigInteger(), nullable=False),
        sa.Column("platform_movements", sa.Integer(), nullable=False),
        sa.Column("platform_amount", sa.BigInteger(), nullable=False),
        sa.Column("matched_lines", sa.Integer(), nullable=False),
        sa.Column("matched_orders", sa.Integer(), nullable=False),
        sa.Column("matched_amount", sa.BigInteger(), nullable=False),
        sa.Column("breaks", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"], ["payment_channel.name"], name=op.f("fk_recon_run_channel_payment_channel")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_run")),
        sa.UniqueConstraint("channel", "import_key", name=op.f("uq_recon_run_channel_import_key")),
    )
    with op.batch_alter_table("recon_run", schema=None) as batch_op:
        batch_op.create_index("ix_recon_run_channel_date_to", ["channel", "date_to"], unique=False)

    op.create_table(
        "recon_break",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("movement", sa.String(length=8), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.Column("orders", sa.JSON(), nullable=True),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("trade_date", sa.Date(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("statement_amount", sa.BigInteger(), nullable=True),
        sa.Column("platform_amount", sa.BigInteger(), nullable=True),
        sa.Column("statement_status", sa.String(length=16), nullable=True),
        sa.Column("platform_status", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("linked_order_id", sa.Uuid(), nullable=True),
        sa.Column("approval_id", sa.Uuid(), nullable=True),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('missing_on_platform','missing_at_channel','amount_mismatch','status_mismatch','unreadable_line')",
            name=op.f("ck_recon_break_kind"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('adjusted','linked','explained','rematched')",
            name=op.f("ck_recon_break_resolution"),
        ),
        sa.CheckConstraint("status IN ('open','resolved')", name=op.f("ck_recon_break_status")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["recon_run.id"], name=op.f("fk_recon_break_run_id_recon_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_break")),
    )
    with op.batch_alter_table("recon_break", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recon_break_channel_status_raised_on",
            ["channel", "status", "raised_on"],
            unique=False,
        )
        batch_op.create_index("ix_recon_break_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_recon_break_run_id_id", ["run_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recon_break", schema=None) as batch_op:
        batch_op.drop_index("ix_recon_break_run_id_id")
        batch_op.drop_index("ix_recon_break_order_id")
        batch_op.drop_index("ix_recon_break_channel_status_raised_on")

    op.drop_table("recon_break")
    with op.batch_alter_table("recon_run", schema=None) as batch_op:
        batch_op.drop_index("ix_recon_run_channel_date_to")

    op.drop_table("recon_run")
