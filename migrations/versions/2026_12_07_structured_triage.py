"""Structured triage on the incident (complaint protocol, age, sex, last known well, danger
signs), copied into the hospital's pre-arrival notice.

Revision ID: 20261207_triage
Revises: 20261124_escalated
Created: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "20261207_triage"
down_revision: str | None = "20261124_escalated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    for table in ("incidents", "handovers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("triage", JSON, nullable=True))


def downgrade() -> None:
    for table in ("handovers", "incidents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("triage")
