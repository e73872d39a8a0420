"""Human incident numbers: the local date and the day's sequence, e.g. 20261207-0042.

Incidents recorded before this revision are numbered by their creation time, in the order they
were created, on the centre's default time zone (Asia/Shanghai; DISPATCH_TIMEZONE numbers the
new ones).

Revision ID: 20261207_numbers
Revises: 20261207_triage
Created: 2026-12-07
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_numbers"
down_revision: str | None = "20261207_triage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("number", sa.String(16), nullable=True))
    incidents = sa.table("incidents", sa.column("id"), sa.column("created_at"),
                         sa.column("number"))
    bind = op.get_bind()
    rows = bind.execute(sa.select(incidents.c.id, incidents.c.created_at)
                        .order_by(incidents.c.created_at, incidents.c.id)).all()
    per_day: Counter[str] = Counter()
    for row in rows:
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        day = at.astimezone(LOCAL).strftime("%Y%m%d")
        per_day[day] += 1
        bind.execute(incidents.update().where(incidents.c.id == row.id)
                     .values(number=f"{day}-{per_day[day]:04d}"))
    with op.batch_alter_table("incidents") as batch:
        batch.create_index("uq_incidents_number", ["number"], unique=True)
    # Each day's last number, drawn with one upsert (the row lock orders concurrent incidents).
    sequences = op.create_table(
        "incident_sequences",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False))
    if per_day:
        op.bulk_insert(sequences, [{"day": d, "last": n} for d, n in per_day.items()])


def downgrade() -> None:
    op.drop_table("incident_sequences")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("uq_incidents_number")
        batch.drop_column("number")
