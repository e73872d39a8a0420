"""Hospital services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.hospitals.models import Hospital


async def list_hospitals(*, session: AsyncSession) -> list[Hospital]:
    """List hospitals by id."""
    return list((await session.scalars(select(Hospital).order_by(Hospital.id))).all())
