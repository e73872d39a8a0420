"""Write the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    source: str | None,
    at: datetime,
    role: str | None = None,
) -> AuditEntry:
    """Add one audit entry to the caller's transaction (it is written when the caller commits)."""
    entry = AuditEntry(
        at=at, actor=actor[:64], actor_role=role, action=action[:64], target_type=target_type[:32],
        target_id=None if target_id is None else target_id[:64],
        source=None if source is None else source[:64],
        before=None if before is None else to_jsonable_python(before),
        after=None if after is None else to_jsonable_python(after),
    )
    session.add(entry)
    return entry


async def entries_for(
    session: AsyncSession, *, target_type: str, target_id: str | None = None
) -> list[AuditEntry]:
    """Audit entries about one target (or one kind of target), oldest first."""
    query = select(AuditEntry).where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list((await session.scalars(query.order_by(AuditEntry.id))).all())
