"""Assignments: a unit sent to an incident, from its reservation to the handover.

Reserving a unit is one Lua script (available → assigned, with the new assignment's id), so a
unit can never be given two jobs, whichever instance the dispatchers are on; a partial unique
index in PostgreSQL guards the same rule behind it. The crew acknowledges within
`ack_timeout_seconds` or the unit is released and the next candidate proposed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.schemas import Actor
from dispatch.db import table
from dispatch.errors import Conflict, DispatchError, NotFound
from dispatch.fleet import states
from dispatch.fleet.livestate import from_ms
from dispatch.fleet.models import Assignment, AssignmentStatus, UnitRef
from dispatch.fleet.models import UnitStatus as S
from dispatch.fleet.recommend import Recommendation, recommend
from dispatch.fleet.service import (
    live,
    ms,
    refused,
    stale_ms,
    status_event,
    travel,
    undo,
    unit_row,
    unit_scope,
    write_status,
)
from dispatch.handovers import service as handovers
from dispatch.hospitals.models import Hospital
from dispatch.incidents.models import Incident, IncidentStatus, InfectionStatus
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

A = AssignmentStatus
OPEN = (A.CONFIRMED, A.ACKNOWLEDGED)
AUTO = Actor(name="hub:auto-dispatch", role=None, source="hub")
TIMER = Actor(name="hub:ack-timer", role=None, source="hub")
AUTO_ATTEMPTS = 3
JOBS = table(Assignment).c
# The first report of each step of a job is kept on it (quality indicators: turnout, response).
STEP_COLUMNS = {S.EN_ROUTE: "en_route_at", S.ON_SCENE: "on_scene_at", S.TRANSPORTING: "left_scene_at",
                S.AT_HOSPITAL: "at_hospital_at"}
RECORD_STEP = {
    status: update(table(Assignment)).where(JOBS.id == bindparam("job"))
    .values({column: func.coalesce(JOBS[column], bindparam("at", type_=JOBS[column].type))})
    for status, column in STEP_COLUMNS.items()
}


async def latest_decision(session: AsyncSession, incident_id: uuid.UUID) -> RoutingDecision | None:
    return (await session.scalars(
        select(RoutingDecision).where(RoutingDecision.incident_id == incident_id)
        .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc()).limit(1))).first()


async def find(session: AsyncSession, assignment_id: uuid.UUID, *, lock: bool = False) -> Assignment:
    assignment = await session.get(Assignment, assignment_id, with_for_update=lock)
    if assignment is None:
        raise NotFound(f"no assignment {assignment_id}")
    return assignment


async def find_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


def _rank_inputs() -> Select[Any]:
    """The incident's place, its latest decision's capabilities and the units that turned it
    down, in one statement built once (the hot path of the console)."""
    latest_caps = (select(RoutingDecision.required_capabilities)
                   .where(RoutingDecision.incident_id == Incident.id)
                   .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc())
                   .limit(1).scalar_subquery())
    declined = (select(func.aggregate_strings(Assignment.unit_id, ","))
                .where(Assignment.incident_id == Incident.id,
                       Assignment.status.in_((A.DECLINED, A.TIMED_OUT)))
                .scalar_subquery())
    return (select(Incident.lat, Incident.lon, latest_caps, declined)
            .where(Incident.id == bindparam("incident_id")))


RANK_INPUTS = _rank_inputs()


async def recommendations(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, limit: int = 5
) -> Recommendation:
    """Units that may go to the incident, fastest first, and why the nearer others may not."""
    found = (await session.execute(RANK_INPUTS, {"incident_id": incident_id})).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}")
    lat, lon, caps, skip = found
    if lat is None or lon is None:
        raise Conflict("the incident has no location yet: units cannot be ranked")
    required = list(caps) if caps is not None else ["ambulance"]
    return await recommend(live(rt), lat=lat, lon=lon, required=required,
                           travel=travel(rt), now_ms=ms(rt.clock.now()), stale_after_ms=stale_ms(rt),
                           skip=set(skip.split(",")) if skip else set(), limit=limit)


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


async def dispatch_unit(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, unit_id: str, actor: Actor,
    override_reason: str | None = None, escalated_from: uuid.UUID | None = None,
) -> Assignment:
    """Send a unit to an incident: reserve it, record the job and put it on the crew's tablet."""
    incident = await find_incident(session, incident_id)
    if incident.status in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    decision = await latest_decision(session, incident.id)
    row = await unit_row(rt, unit_id)
    if not row:
        raise NotFound(f"no unit {unit_id!r}")
    required = list(decision.required_capabilities) if decision else []
    missing = [c for c in required if c not in row.get("caps", "").split(",")]
    if missing and not override_reason:
        raise Conflict(f"unit {unit_id} lacks {', '.join(missing)}: give an override_reason to send "
                       "it anyway", missing=missing)
    now = rt.clock.now()
    aid = uuid.uuid4()
    deadline = now + timedelta(seconds=rt.settings.ack_timeout_seconds)
    # An infected or suspected patient, or one the decision sends by negative-pressure
    # ambulance (sealed areas, isolation): the unit is disinfected before its next job.
    infectious = (incident.infection_status != InfectionStatus.NONE
                  or "negative_pressure" in required)
    moved = await live(rt).move(
        unit_id, S.ASSIGNED, now_ms=ms(now), allowed=states.RESERVE_FROM, expect="",
        assignment=str(aid), incident=str(incident.id), deadline=str(ms(deadline)),
        infectious="1" if infectious else "0")
    if not moved.ok:
        if moved.result == "unknown":
            raise NotFound(f"no unit {unit_id!r}")
        raise Conflict(f"unit {unit_id} is {moved.previous}: it cannot be assigned",
                       status_now=moved.previous, unit_id=unit_id)
    assignment = Assignment(
        id=aid, incident_id=incident.id, unit_id=unit_id, status=A.CONFIRMED,
        decision_id=decision.id if decision else None,
        destination_hospital_id=decision.destination_hospital_id if decision else None,
        proposed_at=now, proposed_by=actor.name[:64], confirmed_at=now,
        confirmed_by=actor.name[:64], ack_deadline=deadline,
        override_reason=override_reason or None, escalated_from_id=escalated_from,
    )
    try:
        session.add(assignment)
        await session.flush()
        await write_status(session, unit_id=unit_id, previous=moved.previous, to=S.ASSIGNED, at=now,
                           actor=actor, assignment_id=aid, infectious=infectious,
                           reason=f"incident {incident.id}", action="unit.assigned")
        await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                           action="assignment.dispatch", target_type="assignment", target_id=str(aid),
                           before=None, after={"unit_id": unit_id, "incident_id": str(incident.id),
                                               "override_reason": override_reason,
                                               "escalated_from": escalated_from and str(escalated_from),
                                               "missing_capabilities": missing}, at=now)
        if incident.status == IncidentStatus.OPEN:
            incident.status = IncidentStatus.DISPATCHED
        await session.commit()
    except Exception as error:
        await session.rollback()
        await undo(rt, unit_id, back_to=moved.previous, now_to=S.ASSIGNED, row=row)
        if isinstance(error, IntegrityError):
            raise Conflict(f"unit {unit_id} already has a job", unit_id=unit_id) from None
        raise
    rt.metrics.assignments.labels("confirmed").inc()
    await rt.bus.publish(
        assignment_event(rt, "assignment.confirmed", assignment, now,
                         unit_call_sign=row.get("call_sign"), incident=incident_summary(incident)),
        status_event(rt, unit_id, moved.previous, S.ASSIGNED, now, assignment_id=str(aid)))
    return assignment


def incident_summary(incident: Incident) -> dict[str, Any]:
    return {"id": str(incident.id), "address": incident.address, "lat": incident.lat,
            "lon": incident.lon, "severity": incident.severity, "category": incident.category,
            "infection_status": incident.infection_status}


async def acknowledge(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, actor: Actor,
    unit_id: str | None = None,
) -> Assignment:
    """The crew has seen the job and takes it."""
    assignment = await find(session, assignment_id)
    if unit_id is not None and assignment.unit_id != unit_id:
        raise NotFound(f"no assignment {assignment_id} for unit {unit_id}")
    if assignment.status == A.ACKNOWLEDGED:
        return assignment
    if assignment.status != A.CONFIRMED:
        raise Conflict(f"the assignment is {assignment.status}", status_now=assignment.status)
    now = rt.clock.now()
    row = await unit_row(rt, assignment.unit_id)
    moved = await live(rt).move(assignment.unit_id, S.ACKNOWLEDGED, now_ms=ms(now),
                                allowed=states.allowed_from(S.ACKNOWLEDGED),
                                expect=str(assignment.id), deadline="")
    if not moved.ok:
        raise refused(assignment.unit_id, S.ACKNOWLEDGED, moved)
    try:
        assignment.status, assignment.acknowledged_at = A.ACKNOWLEDGED, now
        await write_status(session, unit_id=assignment.unit_id, previous=moved.previous,
                           to=S.ACKNOWLEDGED, at=now, actor=actor)
        await session.commit()
    except Exception:
        await session.rollback()
        await undo(rt, assignment.unit_id, back_to=moved.previous, now_to=S.ACKNOWLEDGED, row=row)
        raise
    await rt.bus.publish(
        assignment_event(rt, "assignment.acknowledged", assignment, now),
        status_event(rt, assignment.unit_id, moved.previous, S.ACKNOWLEDGED, now,
                     assignment_id=str(assignment.id)))
    return assignment


async def _incident_after_job(
    session: AsyncSession, incident_id: uuid.UUID, *, completed: bool
) -> str | None:
    """Close the incident when its last job is done; reopen it when its only unit stood down
    (an UPDATE guarded by the incident's status and the absence of another open job).

    The incident's row is locked first: when its last two jobs end at once, the second waits
    for the first to commit and then sees that no job is left (under READ COMMITTED, each
    statement sees what committed before it began)."""
    await session.flush()
    await session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    to = IncidentStatus.CLOSED if completed else IncidentStatus.OPEN
    another_open = select(Assignment.id).where(
        Assignment.incident_id == incident_id, Assignment.status.in_(OPEN)).exists()
    moved = await session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == IncidentStatus.DISPATCHED,
               ~another_open)
        .values(status=to).returning(Incident.id))
    return to if moved.first() is not None else None


async def release(
    *, session: AsyncSession, rt: Runtime, assignment: Assignment, ending: A, actor: Actor,
    reason: str | None,
) -> list[OutgoingEvent]:
    """End a job before the patient is handed over: the unit stands down."""
    if assignment.status not in OPEN:
        raise Conflict(f"the assignment is {assignment.status}", status_now=assignment.status)
    now = rt.clock.now()
    unit_id = assignment.unit_id
    row = await unit_row(rt, unit_id)
    touched = row.get("status") == S.ON_SCENE and row.get("infectious") == "1"
    to = S.DISINFECTING if touched else S.AVAILABLE
    allowed = {S.ASSIGNED} if ending in (A.DECLINED, A.TIMED_OUT) else states.STAND_DOWN_FROM
    moved = await live(rt).move(unit_id, to, now_ms=ms(now), allowed=allowed,
                                expect=str(assignment.id), assignment="", incident="", deadline="",
                                infectious="1" if touched else "0")
    if not moved.ok:
        raise refused(unit_id, to, moved)
    try:
        assignment.status, assignment.ended_at = ending, now
        assignment.end_reason = (reason or ending.value)[:200]
        await write_status(session, unit_id=unit_id, previous=moved.previous, to=to, at=now,
                           actor=actor, assignment_id=None, infectious=touched,
                           reason=f"{ending.value}: {reason}" if reason else ending.value,
                           action=f"assignment.{ending.value}")
        events = await handovers.cancel_for_assignment(session=session, rt=rt,
                                                       assignment_id=assignment.id, at=now,
                                                       reason=ending.value)
        await _incident_after_job(session, assignment.incident_id, completed=False)
        await session.commit()
    except Exception:
        await session.rollback()
        await undo(rt, unit_id, back_to=moved.previous, now_to=to, row=row)
        raise
    rt.metrics.assignments.labels(ending.value).inc()
    return [*events, assignment_event(rt, f"assignment.{ending.value}", assignment, now),
            status_event(rt, unit_id, moved.previous, to, now)]


async def decline(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, actor: Actor,
    reason: str | None, unit_id: str | None = None,
) -> Assignment:
    """The crew cannot take the job: the unit is released and the next one proposed."""
    assignment = await find(session, assignment_id)
    if unit_id is not None and assignment.unit_id != unit_id:
        raise NotFound(f"no assignment {assignment_id} for unit {unit_id}")
    if assignment.status != A.CONFIRMED:
        raise Conflict(f"the assignment is {assignment.status}: only a job not yet acknowledged "
                       "can be declined", status_now=assignment.status)
    events = await release(session=session, rt=rt, assignment=assignment, ending=A.DECLINED,
                           actor=actor, reason=reason)
    await rt.bus.publish(*events)
    await propose(rt, assignment.incident_id, reason=f"unit {assignment.unit_id} declined",
                  lost=(assignment.unit_id, A.DECLINED))
    return assignment


async def cancel(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, actor: Actor, reason: str | None
) -> Assignment:
    """A dispatcher stands the unit down."""
    assignment = await find(session, assignment_id)
    events = await release(session=session, rt=rt, assignment=assignment, ending=A.CANCELLED,
                           actor=actor, reason=reason)
    await rt.bus.publish(*events)
    return assignment


async def time_out(rt: Runtime, unit_id: str) -> bool:
    """Release a unit whose crew did not acknowledge in time and propose the next one."""
    row = await live(rt).unit(unit_id)
    if not row.get("assignment"):
        await rt.redis.zrem(rt.keys.ack_deadlines, unit_id)
        return False
    async with rt.sessionmaker() as session:
        assignment = await session.get(Assignment, uuid.UUID(row["assignment"]))
        now = rt.clock.now()
        if (assignment is None or assignment.status != A.CONFIRMED or assignment.ack_deadline is None
                or assignment.ack_deadline > now):
            return False
        try:
            events = await release(session=session, rt=rt, assignment=assignment, ending=A.TIMED_OUT,
                                   actor=TIMER, reason="not acknowledged in time")
        except Conflict:  # another instance took it first, or the crew just acknowledged
            return False
    await rt.bus.publish(*events)
    await propose(rt, assignment.incident_id, reason=f"unit {unit_id} did not acknowledge",
                  lost=(unit_id, A.TIMED_OUT))
    return True


async def propose(rt: Runtime, incident_id: uuid.UUID, *, reason: str,
                  new: Incident | None = None, lost: tuple[str, A] | None = None) -> str | None:
    """Tell consoles which unit should go next; send it at once for auto-dispatch severities.

    `new` is an incident its caller has just created (it has no jobs yet): it is not read again.
    `lost` is the unit the incident just lost and how (declined, timed out, out of service):
    consoles raise an alert that stays until someone sends a unit."""
    async with rt.sessionmaker() as session:
        incident = (await session.merge(new, load=False) if new is not None
                    else await session.get(Incident, incident_id))
        if (incident is None or incident.lat is None
                or incident.status not in (IncidentStatus.OPEN, IncidentStatus.DISPATCHED)):
            return None
        open_jobs = new is None and await session.scalar(select(func.count()).select_from(
            Assignment).where(Assignment.incident_id == incident_id, Assignment.status.in_(OPEN)))
        if open_jobs:
            return None
        try:
            rec = await recommendations(session=session, rt=rt, incident_id=incident_id, limit=AUTO_ATTEMPTS)
        except DispatchError as error:
            log.warning("no proposal for incident %s: %s", incident_id, error.detail)
            return None
        top = rec.candidates[0] if rec.candidates else None
        await rt.bus.emit("assignment.proposed", {
            "incident_id": str(incident_id), "unit_id": top.unit_id if top else None,
            "call_sign": top.call_sign if top else None,
            "lost": {"unit_id": lost[0], "ending": lost[1].value} if lost else None,
            "incident": incident_summary(incident),
            "eta_seconds": top.eta_seconds if top else None, "reason": reason,
            "candidates": [{"unit_id": c.unit_id, "call_sign": c.call_sign, "eta_seconds": c.eta_seconds}
                           for c in rec.candidates], "warnings": rec.warnings})
        if incident.severity not in rt.settings.auto_dispatch_severities:
            return top.unit_id if top else None
        for candidate in rec.candidates:
            try:
                await dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                    unit_id=candidate.unit_id, actor=AUTO)
                return candidate.unit_id
            except Conflict:  # taken a moment ago by someone else: try the next one
                continue
    return None


def when_tapped(tapped_at: datetime | None, now: datetime, row: dict[str, str]) -> datetime:
    """The time a status change is recorded at: when the crew tapped it (a tablet that was
    offline sends it late), kept between the unit's last change and the hub's clock — a tablet
    whose clock is off still gets its change recorded, never refused."""
    if tapped_at is None:
        return now
    last = from_ms(row.get("status_at"))
    return max(min(tapped_at, now), last) if last else min(tapped_at, now)


async def report(
    *, session: AsyncSession, rt: Runtime, unit_id: str, to: S, actor: Actor, reason: str | None,
    tapped_at: datetime | None = None,
) -> dict[str, str]:
    """Apply a crew's status report and what it means for the unit's job; return the unit's
    live state after it."""
    row = await unit_row(rt, unit_id)
    if not row:
        raise NotFound(f"no unit {unit_id!r}")
    current = row.get("assignment") or ""
    # Going en route or on scene changes nothing about the job itself: no need to read it.
    needs_job = bool(current) and to not in (S.EN_ROUTE, S.ON_SCENE)
    assignment = await session.get(Assignment, uuid.UUID(current)) if needs_job else None
    if assignment is not None and assignment.status not in OPEN:
        assignment = None
    job_ends = assignment is not None and (
        to in (S.HANDOVER_DONE, S.OUT_OF_SERVICE)
        or (to in (S.AVAILABLE, S.DISINFECTING) and row["status"] == S.ON_SCENE))
    now = when_tapped(tapped_at, rt.clock.now(), row)
    moved = await live(rt).move(unit_id, to, now_ms=ms(now), allowed=states.allowed_from(to),
                                expect=current, assignment="" if job_ends else "*",
                                incident="" if job_ends else "*",
                                deadline="" if to == S.OUT_OF_SERVICE else "*",
                                needs_clean=to == S.AVAILABLE)
    if not moved.ok:
        raise refused(unit_id, to, moved)
    events: list[OutgoingEvent] = []
    repropose = False
    try:
        unit = await write_status(session, unit_id=unit_id, previous=moved.previous, to=to, at=now,
                                  actor=actor, reason=reason,
                                  assignment_id=None if job_ends else "keep",
                                  infectious=False if moved.previous == S.DISINFECTING else None)
        if current and to in RECORD_STEP:
            await session.execute(RECORD_STEP[to], {"job": uuid.UUID(current), "at": now})
        if assignment is not None:
            events += await _job_effects(session, rt, assignment, unit, to=to, at=now, actor=actor,
                                         reason=reason)
            if job_ends:
                ending = A.CANCELLED if to == S.OUT_OF_SERVICE else A.COMPLETED
                assignment.status, assignment.ended_at = ending, now
                assignment.end_reason = {S.HANDOVER_DONE: "handed over",
                                         S.OUT_OF_SERVICE: "unit out of service"}.get(to, "not transported")
                closed = await _incident_after_job(session, assignment.incident_id,
                                                   completed=ending == A.COMPLETED)
                events.append(assignment_event(rt, f"assignment.{ending.value}", assignment, now))
                if closed == IncidentStatus.CLOSED:
                    events.append(rt.bus.event("incident.closed", {
                        "incident_id": str(assignment.incident_id)}, at=now))
                repropose = ending == A.CANCELLED
        await session.commit()
    except Exception:
        await session.rollback()
        await undo(rt, unit_id, back_to=moved.previous, now_to=to, row=row)
        raise
    await rt.bus.publish(*events, status_event(rt, unit_id, moved.previous, to, now,
                                               assignment_id=current or None))
    if repropose and assignment is not None:
        await propose(rt, assignment.incident_id, reason=f"unit {unit_id} went out of service",
                      lost=(unit_id, A.CANCELLED))
    return moved.row


async def handed_over(rt: Runtime, *, unit_id: str, assignment_id: uuid.UUID, actor: Actor) -> bool:
    """The hospital took the patient: the unit at its door is done with the job."""
    row = await unit_row(rt, unit_id)
    if row.get("status") != S.AT_HOSPITAL or row.get("assignment") != str(assignment_id):
        return False
    async with rt.sessionmaker() as session:
        try:
            await report(session=session, rt=rt, unit_id=unit_id, to=S.HANDOVER_DONE, actor=actor,
                         reason="the hospital confirmed the handover")
        except DispatchError as error:  # the crew moved first
            log.info("unit %s not moved on after the handover: %s", unit_id, error.detail)
            return False
    return True


async def _job_effects(
    session: AsyncSession, rt: Runtime, assignment: Assignment, unit: UnitRef, *, to: S,
    at: datetime, actor: Actor, reason: str | None,
) -> list[OutgoingEvent]:
    """What the hospital must hear when the unit moves on a job."""
    if to == S.TRANSPORTING:
        return await handovers.on_transporting(session=session, rt=rt, assignment=assignment,
                                               unit=unit, at=at)
    if to == S.AT_HOSPITAL:
        return await handovers.on_arrival(session=session, rt=rt, assignment=assignment, unit=unit,
                                          at=at)
    if to == S.HANDOVER_DONE:
        return await handovers.on_handover_done(session=session, rt=rt, assignment=assignment,
                                                unit=unit, at=at, actor=actor, reason=reason)
    if to == S.OUT_OF_SERVICE:
        return await handovers.cancel_for_assignment(session=session, rt=rt,
                                                     assignment_id=assignment.id, at=at,
                                                     reason="unit out of service")
    return []


async def job(*, session: AsyncSession, rt: Runtime, unit_id: str) -> dict[str, Any] | None:
    """The job on a crew's tablet: where to go, what to expect, where to take the patient."""
    row = await unit_row(rt, unit_id)
    if not row:
        raise NotFound(f"no unit {unit_id!r}")
    if not row.get("assignment"):
        return None
    assignment = await session.get(Assignment, uuid.UUID(row["assignment"]))
    if assignment is None or assignment.status not in OPEN:
        return None
    incident = await session.get(Incident, assignment.incident_id)
    decision = await session.get(RoutingDecision, assignment.decision_id) if assignment.decision_id else None
    hospital = (await session.get(Hospital, assignment.destination_hospital_id)
                if assignment.destination_hospital_id else None)
    made = decision.decision if decision else {}
    return {
        "assignment_id": str(assignment.id), "status": assignment.status,
        "unit_status": row["status"], "ack_deadline": assignment.ack_deadline,
        "incident": {**incident_summary(incident), "complaint": incident.complaint,
                     "notes": incident.notes, "triage": incident.triage} if incident else None,
        "destination": None if hospital is None else {
            "hospital_id": hospital.id, "name": hospital.name, "name_zh": hospital.name_zh,
            "lat": hospital.lat, "lon": hospital.lon, "phone": hospital.phone},
        "transport_mode": made.get("transport_mode"), "closed_loop": made.get("closed_loop", False),
        "crew_notes": made.get("crew_notes", []), "paperwork": made.get("paperwork", []),
        "infectious": row.get("infectious") == "1",
        "handover": await handovers.of_assignment(session, assignment.id),
        "next_statuses": [s.value for s in states.next_statuses(
            S(row["status"]), infectious=row.get("infectious") == "1")],
    }


async def for_incident(*, session: AsyncSession, incident_id: uuid.UUID) -> list[Assignment]:
    return list((await session.scalars(select(Assignment).where(
        Assignment.incident_id == incident_id).order_by(Assignment.proposed_at))).all())
