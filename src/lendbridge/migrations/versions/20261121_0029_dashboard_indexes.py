"""dashboard indexes: the loan book's portfolio figures by status and its disbursements by
day, covering on PostgreSQL (the back-office dashboard reads them at a million loans)

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_loan_status_portfolio",
        "loan",
        ["status"],
        postgresql_include=["classification", "delinquency_bucket", "dpd", "principal_outstanding"],
    )
    op.create_index(
        "ix_loan_disbursed_on", "loan", ["disbursed_on"], postgresql_include=["principal"]
    )


def downgrade() -> None:
    op.drop_index("ix_loan_disbursed_on", table_name="loan")
    op.drop_index("ix_loan_status_portfolio", table_name="loan")
