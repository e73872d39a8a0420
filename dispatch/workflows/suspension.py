"""Suspending and reopening hospitals (seed 000), now or at a set time, and the patients on the way.

A suspended hospital is never chosen by later decisions (routing reads its status). Patients
already heading there are flagged to dispatchers and their crews with a fresh decision; the
dispatcher accepts the new destination with `accept_reroute`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import SYSTEM, Actor
from dispatch.errors import Conflict, DispatchError, InvalidInput, NotFound
from dispatch.fleet.enums import AssignmentStatus
from dispatch.fleet.models import Assignment, Unit, UnitRef
from dispatch.handovers import service as handovers
from dispatch.hospitals import service as hospitals_service
from dispatch.hospitals.enums import HospitalStatus
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.schemas import HospitalUpdate
from dispatch.realtime.schemas import Scope
from dispatch.routing import service as routing_service
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVE_ASSIGNMENTS = (AssignmentStatus.PROPOSED, AssignmentStatus.CONFIRMED,
                      AssignmentStatus.ACKNOWLEDGED)
NOW_WINDOW = timedelta(seconds=5)


async def set_status(
    *, session: AsyncSession, rt: Runtime, hospital_id: str, status: HospitalStatus,
    reason: str | None, at: datetime | None, actor: Actor,
) -> dict[str, Any]:
    """Suspend or reopen now, or announce it for `at`. Returns the hospital and any flags."""
    hospital = await hospitals_service.get_hospital(session=session, hospital_id=hospital_id)
    now = rt.clock.now()
    if at is not None and at > now + NOW_WINDOW:
        before = {"scheduled_status": hospital.scheduled_status, "scheduled_at": hospital.scheduled_at}
        hospital.scheduled_status, hospital.scheduled_at = status.value, at
        hospital.scheduled_reason = reason
        await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                           action=f"hospital.{status.value}.scheduled", target_type="hospital",
                           target_id=hospital_id, before=before,
                           after={"scheduled_status": status.value, "scheduled_at": at,
                                  "reason": reason}, at=now)
        await session.commit()
        await rt.bus.publish(rt.bus.event("hospital.scheduled", {
            "hospital_id": hospital_id, "status": status.value, "at": at, "reason": reason,
        }, scope=Scope(console=True, hospitals=(hospital_id,)), at=now))
        return {"hospital": hospital, "scheduled": True, "flagged": []}
    return await apply(session=session, rt=rt, hospital=hospital, status=status, reason=reason,
                       actor=actor)


async def apply(
    *, session: AsyncSession, rt: Runtime, hospital: Hospital, status: HospitalStatus,
    reason: str | None, actor: Actor,
) -> dict[str, Any]:
    hospital.scheduled_status = hospital.scheduled_at = hospital.scheduled_reason = None
    updated = await hospitals_service.update_hospital(
        session=session, rt=rt, hospital_id=hospital.id,
        changes=HospitalUpdate(status=status, status_reason=reason), actor=actor,
    )
    await session.commit()
    flagged = []
    if status == HospitalStatus.SUSPENDED:
        flagged = await flag_patients_on_the_way(session=session, rt=rt, hospital_id=hospital.id,
                                                 actor=actor)
    return {"hospital": updated, "scheduled": False, "flagged": flagged}


async def flag_patients_on_the_way(
    *, session: AsyncSession, rt: Runtime, hospital_id: str, actor: Actor
) -> list[dict[str, Any]]:
    """Decide again for every active assignment heading to a suspended hospital, and say so."""
    assignments = (await session.scalars(select(Assignment).where(
        Assignment.destination_hospital_id == hospital_id,
        Assignment.status.in_(ACTIVE_ASSIGNMENTS),
    ))).all()
    flagged = []
    for assignment in assignments:
        try:
            decision = await routing_service.decide_for_incident(
                session=session, rt=rt, incident_id=assignment.incident_id, actor=actor.name)
        except DispatchError as error:
            log.warning("no new decision for assignment %s: %s", assignment.id, error.detail)
            continue
        flag = {
            "assignment_id": str(assignment.id), "unit_id": assignment.unit_id,
            "incident_id": str(assignment.incident_id), "from_hospital_id": hospital_id,
            "to_hospital_id": decision.destination_hospital_id, "decision_id": str(decision.id),
            "destination": decision.decision.get("destination"),
            "alert": {"audience": "dispatcher", "level": "critical",
                      "reason": "destination suspended: confirm the new destination"
                      if decision.destination_hospital_id else
                      "destination suspended and the new decision names no hospital: choose one"},
        }
        flagged.append(flag)
        await rt.bus.publish(rt.bus.event(
            "assignment.reroute", flag,
            scope=Scope(console=True, units=(assignment.unit_id,)), at=rt.clock.now()))
    return flagged


async def accept_reroute(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, decision_id: uuid.UUID | None,
    actor: Actor,
) -> Assignment:
    """Send the unit to the destination of the incident's latest (or the given) decision."""
    assignment = await session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(f"no assignment {assignment_id}")
    if assignment.status not in ACTIVE_ASSIGNMENTS:
        raise Conflict(f"assignment is {assignment.status}", status_now=assignment.status)
    query = select(RoutingDecision).where(RoutingDecision.incident_id == assignment.incident_id)
    if decision_id is not None:
        query = query.where(RoutingDecision.id == decision_id)
    decision = (await session.scalars(
        query.order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc()).limit(1))).first()
    if decision is None:
        raise InvalidInput.field("body.decision_id", "no such decision for this incident")
    target = decision.destination_hospital_id
    if target is None:  # e.g. a referral: a patient already in the unit still needs a hospital
        raise Conflict("the decision names no hospital for a patient already on the way: "
                       "route the incident again or choose a hospital",
                       decision_id=str(decision.id), outcome=decision.outcome)
    hospital = await session.get(Hospital, target)
    if hospital is None or hospital.status != HospitalStatus.OPEN:
        raise Conflict(f"hospital {target} is not open")
    now = rt.clock.now()
    before = {"destination_hospital_id": assignment.destination_hospital_id}
    assignment.destination_hospital_id = target
    assignment.decision_id = decision.id
    events = await handovers.cancel_for_assignment(session=session, rt=rt, assignment_id=assignment.id,
                                                   at=now, reason="rerouted")
    unit = await session.get(Unit, assignment.unit_id) if events else None
    if unit is not None:  # the patient is on board: the new hospital hears what is coming
        events += await handovers.on_transporting(
            session=session, rt=rt, assignment=assignment, at=now,
            unit=UnitRef(id=unit.id, call_sign=unit.call_sign, lat=unit.lat, lon=unit.lon))
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="assignment.reroute", target_type="assignment",
                       target_id=str(assignment.id), before=before,
                       after={"destination_hospital_id": target, "decision_id": str(decision.id)},
                       at=now)
    await session.commit()
    await rt.bus.publish(*events, rt.bus.event("assignment.rerouted", {
        "assignment_id": str(assignment.id), "unit_id": assignment.unit_id,
        "incident_id": str(assignment.incident_id), "destination_hospital_id": target,
        "decision_id": str(decision.id), "destination": decision.decision.get("destination"),
    }, scope=Scope(console=True, units=(assignment.unit_id,)), at=now))
    return assignment


async def apply_scheduled(rt: Runtime, now: datetime | None = None) -> list[str]:
    """Apply suspensions and reopenings whose time has come (the hospital timer)."""
    now = now or rt.clock.now()
    applied = []
    async with rt.sessionmaker() as session:
        due = (await session.scalars(select(Hospital).where(
            Hospital.scheduled_at.is_not(None), Hospital.scheduled_at <= now))).all()
        for hospital in due:
            status = HospitalStatus(hospital.scheduled_status or HospitalStatus.OPEN)
            await apply(session=session, rt=rt, hospital=hospital, status=status,
                        reason=hospital.scheduled_reason, actor=SYSTEM)
            applied.append(hospital.id)
    return applied
