"""channel usage: a counter per payment channel and business date of what its orders use of
the daily limit (``payments/usage.py``), filled from the orders already made

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_channel_usage",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"],
            ["payment_channel.name"],
            name=op.f("fk_payment_channel_usage_channel_payment_channel"),
        ),
        sa.PrimaryKeyConstraint("channel", "business_date", name=op.f("pk_payment_channel_usage")),
        sa.CheckConstraint("used >= 0", name=op.f("ck_payment_channel_usage_used_not_negative")),
    )
    op.execute(
        "INSERT INTO payment_channel_usage (channel, business_date, used) "
        "SELECT channel, business_date, SUM(amount) FROM payment_order "
        "WHERE status <> 'failed' GROUP BY channel, business_date"
    )


def downgrade() -> None:
    op.drop_table("payment_channel_usage")
