"""Position state kept in the database; events archived with their stream id; no call_events.

A Redis restart must not log call-takers out, so their state is in the database too.

Revision ID: 20261123_acd
Revises: 20261123_core
Created: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_acd"
down_revision: str | None = "20261123_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A call's timeline is its audit trail and its archived events.
    op.drop_index("ix_call_events_call_id_at", table_name="call_events")
    op.drop_table("call_events")
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="logged_out"))
        batch.add_column(sa.Column("user", sa.String(64), nullable=True))
        batch.add_column(sa.Column("state_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("call_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("stream_id", sa.String(32), nullable=True))
        batch.create_unique_constraint("uq_events_stream_id", ["stream_id"])


def downgrade() -> None:
    op.create_table(
        "call_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position_id", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name="fk_call_events_call_id_calls",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_call_events"),
    )
    op.create_index("ix_call_events_call_id_at", "call_events", ["call_id", "at"])
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_stream_id", type_="unique")
        batch.drop_column("stream_id")
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("call_id")
        batch.drop_column("state_since")
        batch.drop_column("user")
        batch.drop_column("state")
