"""A caller may withhold their number: calls and callbacks keep it nullable.

Revision ID: 20261123_withheld
Revises: 20261123_auth
Created: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_withheld"
down_revision: str | None = "20261123_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("calls", "callbacks"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("caller_number", existing_type=sa.String(32), nullable=True)


def downgrade() -> None:
    for table in ("callbacks", "calls"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("caller_number", existing_type=sa.String(32), nullable=False)
