"""approvals: maker-checker requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = lendbridge.kit.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("maker_id", sa.String(length=64), nullable=False),
        sa.Column("maker_roles", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.Column("checker_id", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTC(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "checker_id IS NULL OR checker_id <> maker_id",
            name=op.f("ck_approval_request_four_eyes"),
        ),
        sa.CheckConstraint(
            "status IN ('pending','approved','rejected','expired')",
            name=op.f("ck_approval_request_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_request")),
    )
    op.create_index("ix_approval_request_maker_id", "approval_request", ["maker_id"])
    op.create_index(
        "ix_approval_request_status_created_at", "approval_request", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("approval_request")
