"""identity: e-mail and postal address of a user (stored encrypted, shown masked)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_user") as batch:
        batch.add_column(sa.Column("email_cipher", sa.Text(), nullable=True))
        batch.add_column(sa.Column("email_masked", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("address_cipher", sa.Text(), nullable=True))
        batch.add_column(sa.Column("address_masked", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_user") as batch:
        for column in ("address_masked", "address_cipher", "email_masked", "email_cipher"):
            batch.drop_column(column)
