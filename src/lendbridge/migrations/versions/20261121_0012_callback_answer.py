"""payments: a callback keeps the answer it carried (error code, channel reference), so a
callback deferred to the answer of a send in flight can still be applied later

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment_callback") as batch:
        batch.add_column(sa.Column("error_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("channel_ref", sa.String(length=64), nullable=True))
        batch.create_index("ix_payment_callback_order_id", ["order_id"])


def downgrade() -> None:
    with op.batch_alter_table("payment_callback") as batch:
        batch.drop_index("ix_payment_callback_order_id")
        batch.drop_column("channel_ref")
        batch.drop_column("error_code")
