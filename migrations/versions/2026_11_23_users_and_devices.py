"""People who log in and device tokens bound to a unit or a hospital.

Revision ID: 20261123_auth
Revises: 20261123_handover
Created: 2026-11-23 12:04:54.000258
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = "20261123_auth"
down_revision: str | None = "20261123_handover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("devices",
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("unit_id", sa.String(length=32), nullable=True),
    sa.Column("hospital_id", sa.String(length=64), nullable=True),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    sa.UniqueConstraint("token_hash", name=op.f("uq_devices_token_hash"))
    )
    op.create_table("users",
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("display_name", sa.String(length=100), nullable=True),
    sa.Column("password_hash", sa.String(length=200), nullable=False),
    sa.Column("roles", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
    sa.Column("unit_id", sa.String(length=32), nullable=True),
    sa.Column("hospital_id", sa.String(length=64), nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("username", name=op.f("pk_users"))
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("devices")
