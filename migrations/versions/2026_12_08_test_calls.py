"""A supervisor's test call is marked: it rings like any call and is left out of the answer
figures and the quality indicators.

Revision ID: 20261208_test_calls
Revises: 20261207_unit_status
Created: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_test_calls"
down_revision: str | None = "20261207_unit_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("test")
