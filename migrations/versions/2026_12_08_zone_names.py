"""Zones have a Chinese name beside their name, as hospitals, places and sub-districts do: the
console shows each in its language.

Revision ID: 20261208_zone_names
Revises: 20261208_test_calls
Created: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_zone_names"
down_revision: str | None = "20261208_test_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("zones", sa.Column("name_zh", sa.String(200), nullable=True))


def downgrade() -> None:
    # A plain ALTER (SQLite 3.35+): a batch copy of the table would trip the foreign keys.
    op.execute("ALTER TABLE zones DROP COLUMN name_zh")
