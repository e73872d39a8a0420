"""An ambulance job that a home visit escalated to points back at the home-visit job.

Revision ID: 20261124_escalated
Revises: 20261124_places
Created: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_escalated"
down_revision: str | None = "20261124_places"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("escalated_from_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_assignments_escalated_from_id_assignments"), "assignments",
                                 ["escalated_from_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint(op.f("fk_assignments_escalated_from_id_assignments"), type_="foreignkey")
        batch.drop_column("escalated_from_id")
