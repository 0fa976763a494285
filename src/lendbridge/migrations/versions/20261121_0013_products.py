"""products: loan products (one head row per code) and their immutable versions; on
PostgreSQL a trigger refuses UPDATE and DELETE of a version

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_GUARD = r"""
CREATE FUNCTION product_version_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'product versions are immutable: % refused (save a new version instead)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER product_version_immutable BEFORE UPDATE OR DELETE ON product_version
    FOR EACH ROW EXECUTE FUNCTION product_version_refuse_change();
"""

PG_GUARD_DROP = r"""
DROP TRIGGER IF EXISTS product_version_immutable ON product_version;
DROP FUNCTION IF EXISTS product_version_refuse_change();
"""


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("latest_version >= 1", name=op.f("ck_product_latest_version_positive")),
        sa.CheckConstraint("status IN ('active','retired')", name=op.f("ck_product_status")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_product")),
    )
    op.create_table(
        "product_version",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_product_version_version_positive")),
        sa.ForeignKeyConstraint(
            ["code"], ["product.code"], name=op.f("fk_product_version_code_product")
        ),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_product_version")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD_DROP)
    op.drop_table("product_version")
    op.drop_table("product")
