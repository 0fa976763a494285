"""provision: the loan-loss provision of each loan and the watermark of the close of
business's provision step

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "loan", sa.Column("provision", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("loan", sa.Column("provision_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loan") as batch:
        batch.drop_column("provision_as_of")
        batch.drop_column("provision")
