"""Call-taker positions have a Chinese name beside their name, as zones, hospitals and places do.

Revision ID: 20261208_position_names
Revises: 20261208_zone_names
Created: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_position_names"
down_revision: str | None = "20261208_zone_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("positions", sa.Column("name_zh", sa.String(100), nullable=True))


def downgrade() -> None:
    # A plain ALTER (SQLite 3.35+): a batch copy of the table would trip the foreign keys.
    op.execute("ALTER TABLE positions DROP COLUMN name_zh")
