"""delinquency: days past due, bucket, classification and their watermark on the loan

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loan", sa.Column("dpd", sa.Integer(), server_default="0", nullable=False))
    op.add_column("loan", sa.Column("overdue_since", sa.Date(), nullable=True))
    op.add_column(
        "loan",
        sa.Column(
            "delinquency_bucket", sa.String(length=8), server_default="current", nullable=False
        ),
    )
    op.add_column(
        "loan",
        sa.Column("classification", sa.String(length=16), server_default="normal", nullable=False),
    )
    op.add_column("loan", sa.Column("delinquency_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loan") as batch:
        batch.drop_column("delinquency_as_of")
        batch.drop_column("classification")
        batch.drop_column("delinquency_bucket")
        batch.drop_column("overdue_since")
        batch.drop_column("dpd")
