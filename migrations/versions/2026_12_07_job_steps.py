"""Each job keeps the first time its crew reported each step (en route, on scene, left the
scene, at hospital), so a month's response and turnout times are read from the jobs alone
instead of matching every status change to the job its unit held then. Existing jobs are
filled from the units' status history.

Revision ID: 20261207_job_steps
Revises: 20261207_unit_status
Created: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_job_steps"
down_revision: str | None = "20261207_unit_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = {"en_route_at": "en_route", "on_scene_at": "on_scene", "left_scene_at": "transporting",
         "at_hospital_at": "at_hospital"}


def first_report(status: str) -> str:
    """The first time the job's unit reported `status` while it held the job."""
    return (
        "(SELECT min(e.at) FROM unit_events e WHERE e.unit_id = assignments.unit_id"
        f" AND e.type = 'status' AND e.to_status = '{status}'"
        " AND e.at >= assignments.confirmed_at"
        " AND (assignments.ended_at IS NULL OR e.at <= assignments.ended_at))"
    )


def upgrade() -> None:
    for column in STEPS:
        op.add_column("assignments", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    assignments = ", ".join(f"{column} = {first_report(status)}" for column, status in STEPS.items())
    op.execute(f"UPDATE assignments SET {assignments} WHERE confirmed_at IS NOT NULL")


def downgrade() -> None:
    for column in STEPS:  # plain ALTER (SQLite 3.35+): a batch copy would trip the foreign keys
        op.execute(f"ALTER TABLE assignments DROP COLUMN {column}")
