"""A handover marked done by the hospital (or by the crew, giving a reason): the handover is
closed, then the unit at the door moves on from its job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.schemas import Actor
from dispatch.handovers import service as handovers
from dispatch.runtime import Runtime
from dispatch.workflows import unit_status


async def mark_done(
    *, session: AsyncSession, rt: Runtime, handover_id: str, actor: Actor, crew_reason: str | None,
    hospital_id: str | None = None,
) -> Any:
    """Close the handover; when this closed it, the unit at the hospital is done with the job."""
    done, finished = await handovers.mark_done(
        session=session, rt=rt, handover_id=handover_id, actor=actor, crew_reason=crew_reason,
        hospital_id=hospital_id)
    if finished:
        await unit_status.handed_over(rt, unit_id=done.unit_id, assignment_id=done.assignment_id,
                                      actor=actor)
    return done
