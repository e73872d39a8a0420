"""A supervisor's test call is marked: it rings like any call and is left out of the answer
figures and the quality indicators.

Revision ID: 20261208_test_calls
Revises: 20261207_job_steps
Created: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_test_calls"
down_revision: str | None = "20261207_job_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both backends: a batch copy of the table (SQLite) would trip the foreign
    # keys of a database that holds calls.
    op.add_column("calls", sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # A plain ALTER (SQLite 3.35+): a batch copy of the table would trip the foreign keys.
    op.execute("ALTER TABLE calls DROP COLUMN test")
