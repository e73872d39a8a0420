"""Fleet: a unit works one job at a time.

Revision ID: 20261123_fleet
Revises: 20261123_withheld
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_fleet"
down_revision: str | None = "20261123_withheld"
branch_labels = None
depends_on = None

OPEN_WHERE = "status IN ('confirmed', 'acknowledged')"


def upgrade() -> None:
    op.create_index("uq_assignments_open_unit", "assignments", ["unit_id"], unique=True,
                    postgresql_where=sa.text(OPEN_WHERE), sqlite_where=sa.text(OPEN_WHERE))


def downgrade() -> None:
    op.drop_index("uq_assignments_open_unit", table_name="assignments")
