"""Assignments: a unit sent to an incident, from its reservation to the handover.

Reserving a unit is one Lua script (available → assigned, with the new assignment's id), so a
unit can never be given two jobs, whichever instance the dispatchers are on; a partial unique
index in PostgreSQL guards the same rule behind it. The crew acknowledges within
`ack_timeout_seconds` or the unit is released and the next candidate proposed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.db import one_of, table
from dispatch.errors import NotFound
from dispatch.fleet.enums import AssignmentStatus
from dispatch.fleet.models import Assignment
from dispatch.fleet.service import (
    unit_scope,
)
from dispatch.incidents.models import Incident
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

A = AssignmentStatus
OPEN = (A.CONFIRMED, A.ACKNOWLEDGED)




async def find(session: AsyncSession, assignment_id: uuid.UUID, *, lock: bool = False) -> Assignment:
    assignment = await session.get(Assignment, assignment_id, with_for_update=lock)
    if assignment is None:
        raise NotFound(f"no assignment {assignment_id}")
    return assignment






JOBS = table(Assignment).c
INCIDENTS = table(Incident).c
JOB_BY_ID = prebuilt(select(table(Assignment)).where(JOBS.id == bindparam("id")))
END_JOB = prebuilt(update(table(Assignment)).where(JOBS.id == bindparam("job_id"))
                   .values(status=bindparam("ending"), ended_at=bindparam("at"),
                           end_reason=bindparam("reason")))


def ending_along(unit_moved: Any) -> Any:
    """PostgreSQL: the job ended (parameters `end_job`, `ending`, `job_ended_at`,
    `end_reason`) as a CTE of the statement that moves the unit, written only if the unit
    moved and the job is still open; it returns the job's id."""
    return (update(table(Assignment))
            .where(JOBS.id == bindparam("end_job"), one_of(JOBS.status, OPEN),
                   select(unit_moved.c.id).exists())
            .values(status=bindparam("ending"),
                    ended_at=bindparam("job_ended_at", type_=JOBS.ended_at.type),
                    end_reason=bindparam("end_reason"))
            .returning(JOBS.id).cte("job"))




def assignment_data(a: Assignment, **extra: Any) -> dict[str, Any]:
    return {
        "assignment_id": str(a.id), "id": str(a.id), "incident_id": str(a.incident_id),
        "unit_id": a.unit_id, "status": a.status,
        "decision_id": str(a.decision_id) if a.decision_id else None,
        "destination_hospital_id": a.destination_hospital_id, "confirmed_by": a.confirmed_by,
        "confirmed_at": a.confirmed_at, "ack_deadline": a.ack_deadline,
        "acknowledged_at": a.acknowledged_at, "ended_at": a.ended_at, "end_reason": a.end_reason,
        "override_reason": a.override_reason, **extra,
    }


def assignment_event(rt: Runtime, type_: str, a: Assignment, at: datetime, **extra: Any) -> OutgoingEvent:
    return rt.bus.event(type_, assignment_data(a, **extra), scope=unit_scope(a.unit_id), at=at)




INSERT_JOB = prebuilt(insert(table(Assignment)))




def incident_summary(incident: Any) -> dict[str, Any]:
    return {"id": str(incident.id), "address": incident.address, "lat": incident.lat,
            "lon": incident.lon, "severity": incident.severity, "category": incident.category,
            "infection_status": incident.infection_status}
































async def for_incident(*, session: AsyncSession, incident_id: uuid.UUID) -> list[Assignment]:
    return list((await session.scalars(select(Assignment).where(
        Assignment.incident_id == incident_id).order_by(Assignment.proposed_at))).all())
