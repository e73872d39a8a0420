"""A home visit that escalates ends with an ambulance on the way, both jobs linked (seed 003).

The places domain records the GP's finding and routes the incident again as a transport; the
fleet then sends the ambulance (the one the caller names, or the fastest that may go) with a
link to the medical point team's job. The team stays with the patient until the crew arrives.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.schemas import Actor
from dispatch.errors import Conflict
from dispatch.fleet import assignments
from dispatch.fleet.models import Assignment
from dispatch.incidents.enums import Severity
from dispatch.runtime import Runtime
from dispatch.workflows import dispatch
from dispatch.workflows.home_visit import escalate_home_visit, escalation_out


async def escalate(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, actor: Actor, severity: str,
    finding: str | None, unit_id: str | None,
) -> dict[str, Any]:
    """Turn the home visit into an ambulance job and send the ambulance."""
    visit = (await session.scalars(select(Assignment).where(
        Assignment.incident_id == incident_id, Assignment.status.in_(assignments.OPEN))
        .order_by(Assignment.proposed_at.desc()).limit(1))).first()
    visit_id = visit.id if visit is not None else None
    escalation = await escalate_home_visit(session=session, rt=rt, incident_id=incident_id,
                                           actor=actor, severity=Severity(severity), finding=finding)
    warnings: list[str] = []
    sent: Assignment | None = None
    if unit_id is not None:
        choices = [unit_id]
    else:
        rec = await dispatch.recommendations(session=session, rt=rt, incident_id=incident_id)
        choices = [c.unit_id for c in rec.candidates]
        warnings += rec.warnings
    for choice in choices:
        try:
            sent = await dispatch.dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                                   unit_id=choice, actor=actor, escalated_from=visit_id)
            break
        except Conflict as error:
            if unit_id is not None:
                raise
            warnings.append(f"{choice}: {error.detail}")  # taken a moment ago: try the next
    if sent is None:
        warnings.append("no ambulance could be sent: a dispatcher must act")
    return {"escalation": escalation_out(escalation).model_dump(mode="json"), "assignment": sent,
            "home_visit_assignment_id": visit_id, "warnings": warnings}
