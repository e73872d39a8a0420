"""Community care places: fever clinics, community health centres, night clinics, oxygen stations,
family-doctor teams and temporary medical points.

Revision ID: 20261124_places
Revises: 20261123_fleet
Created: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261124_places"
down_revision: str | None = "20261123_fleet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table("places",
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("name_zh", sa.String(length=200), nullable=True),
    sa.Column("lat", sa.Float(), nullable=False),
    sa.Column("lon", sa.Float(), nullable=False),
    sa.Column("location_approximate", sa.Boolean(), nullable=False),
    sa.Column("address", sa.String(length=300), nullable=True),
    sa.Column("phone", sa.String(length=32), nullable=True),
    sa.Column("hours", sa.String(length=100), nullable=True),
    sa.Column("timezone", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("status_reason", sa.String(length=300), nullable=True),
    sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("services", JSON, nullable=False),
    sa.Column("paired_hospital_id", sa.String(length=64), nullable=True),
    sa.Column("parent_id", sa.String(length=64), nullable=True),
    sa.Column("served_sub_district_ids", JSON, nullable=False),
    sa.Column("served_zone_id", sa.String(length=64), nullable=True),
    sa.Column("population_served", sa.Integer(), nullable=True),
    sa.Column("unit_id", sa.String(length=32), nullable=True),
    sa.Column("source", sa.String(length=200), nullable=True),
    sa.Column("notes", sa.String(length=500), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_places"))
    )
    op.create_index(op.f("ix_places_kind_status"), "places", ["kind", "status"], unique=False)
    op.create_index(op.f("ix_places_served_zone_id"), "places", ["served_zone_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_places_served_zone_id"), table_name="places")
    op.drop_index(op.f("ix_places_kind_status"), table_name="places")
    op.drop_table("places")
