"""cob: the daily close of business — its runs, steps and lease

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cob_run",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("business_date", name=op.f("pk_cob_run")),
    )
    op.create_table(
        "cob_step_run",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_date"],
            ["cob_run.business_date"],
            name=op.f("fk_cob_step_run_business_date_cob_run"),
        ),
        sa.PrimaryKeyConstraint("business_date", "step", name=op.f("pk_cob_step_run")),
    )
    op.create_table(
        "cob_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("expires_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cob_lease")),
    )


def downgrade() -> None:
    op.drop_table("cob_lease")
    op.drop_table("cob_step_run")
    op.drop_table("cob_run")
