"""Read the append-only audit log (log.py writes it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.models import AuditEntry


async def entries_for(
    session: AsyncSession, *, target_type: str, target_id: str | None = None
) -> list[AuditEntry]:
    """Audit entries about one target (or one kind of target), oldest first."""
    query = select(AuditEntry).where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list((await session.scalars(query.order_by(AuditEntry.id))).all())
