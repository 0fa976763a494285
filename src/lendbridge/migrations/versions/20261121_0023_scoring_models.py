"""scoring: the model registry (one row per trained model version, artifact included).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoring_model",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=False),
        sa.Column("data_rows", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('champion','challenger','retired')", name=op.f("ck_scoring_model_status")
        ),
        sa.CheckConstraint("family IN ('scorecard','gbm')", name=op.f("ck_scoring_model_family")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_scoring_model_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_model")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_scoring_model_name_version")),
    )
    op.create_index(
        "ix_scoring_model_one_champion",
        "scoring_model",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'champion'"),
        sqlite_where=sa.text("status = 'champion'"),
    )


def downgrade() -> None:
    op.drop_index("ix_scoring_model_one_champion", table_name="scoring_model")
    op.drop_table("scoring_model")
