"""risk list: identities, phones and bank cards the platform does not lend to (blind indexes only)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "risk_list_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value_index", sa.String(length=64), nullable=False),
        sa.Column("value_masked", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", UTC(timezone=True), nullable=False),
        sa.Column("removed_at", UTC(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('resident_id','phone','bank_card')", name=op.f("ck_risk_list_entry_kind")
        ),
        sa.CheckConstraint(
            "source IN ('manual','court_list','fraud_confirmed')",
            name=op.f("ck_risk_list_entry_source"),
        ),
        sa.CheckConstraint(
            "(removed_at IS NULL AND removed_by IS NULL AND removal_reason IS NULL) OR "
            "(removed_at IS NOT NULL AND removed_by IS NOT NULL AND removal_reason IS NOT NULL)",
            name=op.f("ck_risk_list_entry_removal_complete"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_list_entry")),
    )
    op.create_index(
        "ux_risk_list_entry_active",
        "risk_list_entry",
        ["kind", "value_index"],
        unique=True,
        sqlite_where=sa.text("removed_at IS NULL"),
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_risk_list_entry_active", table_name="risk_list_entry")
    op.drop_table("risk_list_entry")
