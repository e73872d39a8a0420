"""Unit status changes indexed apart from position reports, by unit and time with the status
carried in the index: each job's steps are read from the index alone (quality indicators).

Revision ID: 20261207_unit_status
Revises: 20261207_numbers
Created: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_unit_status"
down_revision: str | None = "20261207_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_ONLY = sa.text("type = 'status'")


def upgrade() -> None:
    op.create_index("ix_unit_events_status", "unit_events", ["unit_id", "at", "to_status"],
                    postgresql_where=STATUS_ONLY, sqlite_where=STATUS_ONLY)


def downgrade() -> None:
    op.drop_index("ix_unit_events_status", table_name="unit_events")
