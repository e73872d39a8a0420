"""Handovers (pre-arrival notice, arrival, the 15-minute clock), hospital capacity, scheduled status.

Revision ID: 20261123_handover
Revises: 20261123_acd
Created: 2026-11-23 11:58:17.919146
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_handover"
down_revision: str | None = "20261123_acd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("hospital_capacity",
    sa.Column("hospital_id", sa.String(length=64), nullable=False),
    sa.Column("category", sa.String(length=16), nullable=False),
    sa.Column("available", sa.Integer(), nullable=False),
    sa.Column("total", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(["hospital_id"], ["hospitals.id"], name=op.f("fk_hospital_capacity_hospital_id_hospitals"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("hospital_id", "category", name=op.f("pk_hospital_capacity"))
    )
    op.create_table("handovers",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("assignment_id", sa.Uuid(), nullable=False),
    sa.Column("incident_id", sa.Uuid(), nullable=False),
    sa.Column("unit_id", sa.String(length=32), nullable=False),
    sa.Column("hospital_id", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("category", sa.String(length=24), nullable=False),
    sa.Column("severity", sa.String(length=16), nullable=False),
    sa.Column("infection_status", sa.String(length=16), nullable=False),
    sa.Column("notice_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("eta_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("notice_acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("notice_acknowledged_by", sa.String(length=64), nullable=True),
    sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("done_by", sa.String(length=64), nullable=True),
    sa.Column("done_by_crew_reason", sa.String(length=300), nullable=True),
    sa.Column("overdue_level", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], name=op.f("fk_handovers_assignment_id_assignments")),
    sa.ForeignKeyConstraint(["hospital_id"], ["hospitals.id"], name=op.f("fk_handovers_hospital_id_hospitals")),
    sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_handovers_incident_id_incidents")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    sa.UniqueConstraint("assignment_id", name=op.f("uq_handovers_assignment_id"))
    )
    op.create_index(op.f("ix_handovers_hospital_id_status"), "handovers", ["hospital_id", "status"], unique=False)
    op.create_index(op.f("ix_handovers_status_arrived_at"), "handovers", ["status", "arrived_at"], unique=False)
    op.add_column("hospitals", sa.Column("scheduled_status", sa.String(length=16), nullable=True))
    op.add_column("hospitals", sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("hospitals", sa.Column("scheduled_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column("hospitals", "scheduled_reason")
    op.drop_column("hospitals", "scheduled_at")
    op.drop_column("hospitals", "scheduled_status")
    op.drop_index(op.f("ix_handovers_status_arrived_at"), table_name="handovers")
    op.drop_index(op.f("ix_handovers_hospital_id_status"), table_name="handovers")
    op.drop_table("handovers")
    op.drop_table("hospital_capacity")
