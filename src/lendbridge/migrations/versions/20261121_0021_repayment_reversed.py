"""repayment reversed: a repayment whose payment order the channel reversed after it
succeeded (``servicing/reversals.py``) is ``reversed``

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_loan_repayment_status"


def _status_check(statuses: str) -> None:
    # batch mode: SQLite rebuilds the table to change a CHECK constraint
    with op.batch_alter_table("loan_repayment") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"status IN ({statuses})")


def upgrade() -> None:
    _status_check("'pending','applied','failed','reversed'")


def downgrade() -> None:
    op.execute("UPDATE loan_repayment SET status = 'applied' WHERE status = 'reversed'")
    _status_check("'pending','applied','failed'")
