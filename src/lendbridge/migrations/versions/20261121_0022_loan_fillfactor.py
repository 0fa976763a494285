"""loan close: room in each page of ``loan`` and ``loan_installment`` for the close of
business's daily update of every row to stay on its page (a HOT update: no new index
entries; full pages made nearly every update insert into all four indexes of ``loan``;
PostgreSQL only, SQLite has no such setting); and an index of the unpaid installments by due
date (for the close's collection and reminder steps) and per loan (for the close's reading
of a loan's unpaid installments).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_loan_installment_due_pending",
        "loan_installment",
        ["due_date"],
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_loan_installment_loan_due_pending",
        "loan_installment",
        ["loan_id", "due_date"],
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    # Existing pages keep their rows; new and rewritten pages leave the room.
    op.execute("ALTER TABLE loan SET (fillfactor = 70)")
    op.execute("ALTER TABLE loan_installment SET (fillfactor = 80)")


def downgrade() -> None:
    op.drop_index("ix_loan_installment_loan_due_pending", table_name="loan_installment")
    op.drop_index("ix_loan_installment_due_pending", table_name="loan_installment")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE loan RESET (fillfactor)")
    op.execute("ALTER TABLE loan_installment RESET (fillfactor)")
