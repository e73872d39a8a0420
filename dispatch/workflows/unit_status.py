"""A unit's status, reported by its crew or set by the hub, and what it means for its job: the
hospital's notice, arrival and handover, the end of the job and of the incident — one unit of
work each (the fleet's state machine decides in Redis first; PostgreSQL follows)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import livestate
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.db import one_of, table
from dispatch.errors import Conflict, DispatchError, IllegalTransition, InvalidInput, NotFound
from dispatch.fleet import states
from dispatch.fleet.assignments import (
    END_JOB,
    JOB_BY_ID,
    OPEN,
    A,
    assignment_event,
    ending_along,
    find,
    incident_summary,
)
from dispatch.fleet.enums import UnitStatus as S
from dispatch.fleet.livestate import Moved, from_ms
from dispatch.fleet.models import Assignment, UnitRef
from dispatch.fleet.schemas import UnitOut
from dispatch.fleet.service import (
    get_unit,
    live,
    moved_unit,
    ms,
    refused,
    stale_ms,
    status_event,
    status_params,
    status_statement,
    undo,
    unit_out,
    unit_row,
    write_status,
)
from dispatch.handovers import service as handovers
from dispatch.hospitals.models import Hospital
from dispatch.incidents import service as incidents
from dispatch.incidents.enums import IncidentStatus
from dispatch.incidents.models import Incident
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime
from dispatch.work import statements_alone
from dispatch.workflows.dispatch import propose

log = logging.getLogger(__name__)

TIMER = Actor(name="hub:ack-timer", role=None, source="hub")


async def acknowledge(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, actor: Actor,
    unit_id: str | None = None, check: Callable[[str], None] | None = None,
) -> Assignment:
    """The crew has seen the job and takes it (`check` may refuse the job's unit)."""
    # A read that checks, then one statement: the unit's status, history and audit entry and
    # the job acknowledged (see fleet.service._stepping).
    statements_alone(session)
    found = await session.execute(JOB_BY_ID, {"id": assignment_id})
    job = found.first()
    if job is None or (unit_id is not None and job.unit_id != unit_id):
        raise NotFound(f"no assignment {assignment_id}"
                       + (f" for unit {unit_id}" if unit_id is not None else ""))
    if check is not None:
        check(job.unit_id)
    if job.status == A.ACKNOWLEDGED:
        return Assignment(**job._asdict())
    if job.status != A.CONFIRMED:
        raise Conflict(f"the assignment is {job.status}", status_now=job.status)
    now = rt.clock.now()
    moved = await live(rt).move(job.unit_id, S.ACKNOWLEDGED, now_ms=ms(now),
                                allowed=states.allowed_from(S.ACKNOWLEDGED),
                                expect=str(job.id), deadline="")
    if moved.result == "unknown":  # Redis may have just lost live state: look again once
        await livestate.ensure(rt)
        moved = await live(rt).move(job.unit_id, S.ACKNOWLEDGED, now_ms=ms(now),
                                    allowed=states.allowed_from(S.ACKNOWLEDGED),
                                    expect=str(job.id), deadline="")
    if not moved.ok:
        raise refused(job.unit_id, S.ACKNOWLEDGED, moved)
    try:
        await write_status(session, unit_id=job.unit_id, previous=moved.previous,
                           to=S.ACKNOWLEDGED, at=now, actor=actor, step_job=job.id)
        await session.commit()
    except Exception:
        await session.rollback()
        await undo(rt, job.unit_id, back_to=moved.previous, now_to=S.ACKNOWLEDGED, row=moved.before)
        raise
    assignment = Assignment(**{**job._asdict(), "status": A.ACKNOWLEDGED, "acknowledged_at": now})
    await rt.bus.publish(
        assignment_event(rt, "assignment.acknowledged", assignment, now),
        status_event(rt, job.unit_id, moved.previous, S.ACKNOWLEDGED, now,
                     assignment_id=str(job.id)))
    return assignment



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
        await incidents.after_job(session, assignment.incident_id, completed=False)
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
    now = rt.clock.now()
    moved = await _jobless_move(rt, unit_id, to, now) if tapped_at is None else None
    if moved is not None:  # nothing about a job changes: no read before the move
        current, needs_job, at_the_door, handing_over = moved.assignment, False, False, False
        assignment: Any = None
        job_ends = False
        statements_alone(session)  # the unit's row, history, audit entry and job step
    else:
        row = await unit_row(rt, unit_id)
        if not row:
            raise NotFound(f"no unit {unit_id!r}")
        current = row.get("assignment") or ""
        # Going en route or on scene changes nothing about the job itself: no need to read it.
        needs_job = bool(current) and to not in (S.EN_ROUTE, S.ON_SCENE)
        # PostgreSQL: what the hospital must hear rides in the statement that moves the unit
        # (the notice, the arrival); the handover done ends the job and perhaps the incident.
        postgres = session.get_bind().dialect.name == "postgresql"
        at_the_door = postgres and to in WITH_HANDOVER
        handing_over = postgres and needs_job and to == S.HANDOVER_DONE
        if not needs_job or at_the_door:
            statements_alone(session)  # reads that check, then one statement writes
        reading = JOB_AT_HANDOVER if handing_over else JOB_BY_ID
        assignment = (await session.execute(reading, {"id": uuid.UUID(current)})).first() \
            if needs_job else None
        if assignment is not None and assignment.status not in OPEN:
            assignment = None
        if handing_over and assignment is not None and not reason and assignment.handover_id:
            raise handovers.unexplained()
        job_ends = assignment is not None and (
            to in (S.HANDOVER_DONE, S.OUT_OF_SERVICE)
            or (to in (S.AVAILABLE, S.DISINFECTING) and row["status"] == S.ON_SCENE))
        now = when_tapped(tapped_at, now, row)
        moved = await live(rt).move(unit_id, to, now_ms=ms(now), allowed=states.allowed_from(to),
                                    expect=current, assignment="" if job_ends else "*",
                                    incident="" if job_ends else "*",
                                    deadline="" if to == S.OUT_OF_SERVICE else "*",
                                    needs_clean=to == S.AVAILABLE)
        if not moved.ok:
            raise refused(unit_id, to, moved)
    events: list[OutgoingEvent] = []
    repropose = False
    written = False  # the unit's change is committed: a later failure leaves Redis as it is
    status: dict[str, Any] = {
        "unit_id": unit_id, "previous": moved.previous, "to": to, "at": now, "actor": actor,
        "reason": reason, "assignment_id": None if job_ends else "keep",
        "infectious": False if moved.previous == S.DISINFECTING else None,
        "step_job": uuid.UUID(current) if current else None}
    try:
        if at_the_door and assignment is not None:
            unit, handover = await _at_the_door(session, rt, assignment, moved.row, status)
            written = True
            events += await _door_news(session, rt, assignment, unit, handover, to=to, at=now)
        elif handing_over and assignment is not None:
            events += await _handing_over(session, rt, assignment, status)
        else:
            unit = await write_status(session, **status)
        if assignment is not None and not (at_the_door or handing_over):
            events += await _job_effects(session, rt, assignment, unit, to=to, at=now, actor=actor,
                                         reason=reason)
            if job_ends:
                ending = A.CANCELLED if to == S.OUT_OF_SERVICE else A.COMPLETED
                end_reason = END_REASONS.get(to, "not transported")
                await session.execute(END_JOB, {"job_id": assignment.id, "ending": ending, "at": now,
                                                "reason": end_reason})
                assignment = as_ended(assignment, ending, now, end_reason)
                closed = await incidents.after_job(session, assignment.incident_id,
                                                   completed=ending == A.COMPLETED)
                events.append(assignment_event(rt, f"assignment.{ending.value}", assignment, now))
                if closed == IncidentStatus.CLOSED:
                    events.append(rt.bus.event("incident.closed", {
                        "incident_id": str(assignment.incident_id)}, at=now))
                repropose = ending == A.CANCELLED
        await session.commit()
    except Exception:
        await session.rollback()
        if not written:
            await undo(rt, unit_id, back_to=moved.previous, now_to=to, row=moved.before)
        raise
    await rt.bus.publish(*events, status_event(rt, unit_id, moved.previous, to, now,
                                               assignment_id=current or None))
    if repropose and assignment is not None:
        await propose(rt, assignment.incident_id, reason=f"unit {unit_id} went out of service",
                      lost=(unit_id, A.CANCELLED))
    return moved.row


# Why a job ends with its unit's report (any other report that ends one: not transported).
END_REASONS = {S.HANDOVER_DONE: "handed over", S.OUT_OF_SERVICE: "unit out of service"}


def as_ended(job: Any, ending: A, at: datetime, reason: str) -> Any:
    """A job row (JOB_BY_ID, JOB_AT_HANDOVER) as its ending left it, for the news of it."""
    return SimpleNamespace(**{**job._asdict(), "status": ending, "ended_at": at,
                              "end_reason": reason})


async def _jobless_move(rt: Runtime, unit_id: str, to: S, now: datetime) -> Moved | None:
    """Move a unit whose report changes nothing about a job — en route, on scene (whatever its
    job), available without one — in one script, without reading it first; None when the
    report must take the longer way (a unit with a job going available)."""
    if to not in (S.EN_ROUTE, S.ON_SCENE, S.AVAILABLE):
        return None
    for attempt in range(2):
        moved = await live(rt).move(unit_id, to, now_ms=ms(now), allowed=states.allowed_from(to),
                                    expect="*" if to != S.AVAILABLE else "",
                                    needs_clean=to == S.AVAILABLE)
        if moved.result != "unknown" or attempt:
            break
        await livestate.ensure(rt)  # Redis may have just lost live state: look again once
    if moved.result == "mismatch":
        return None
    if not moved.ok:
        raise refused(unit_id, to, moved)
    return moved


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


WITH_HANDOVER = {S.TRANSPORTING: prebuilt(status_statement(then=handovers.noticing)),
                 S.AT_HOSPITAL: prebuilt(status_statement(then=handovers.arriving))}


async def _at_the_door(
    session: AsyncSession, rt: Runtime, job: Any, live_row: dict[str, str], status: dict[str, Any],
) -> tuple[UnitRef, SimpleNamespace | None]:
    """PostgreSQL: the unit's status and the hospital's notice (transporting) or the arrival
    (at hospital) in one statement; the handover it wrote, if any."""
    params, _ = status_params(**status)
    to, at = status["to"], status["at"]
    if to == S.AT_HOSPITAL:
        params |= {"handover_job": job.id, "handover_at": at}
        statement = WITH_HANDOVER[S.AT_HOSPITAL]
    else:
        hospital = (await handovers.hospital_of(session, rt, job.destination_hospital_id)
                    if job.destination_hospital_id else None)
        if hospital is None:  # no destination: nobody to tell
            return await write_status(session, **status), None
        lat, lon = live_row.get("lat"), live_row.get("lon")
        here = UnitRef(id=status["unit_id"], call_sign="", lat=float(lat) if lat else None,
                       lon=float(lon) if lon else None)
        params |= handovers.notice_params(job, unit_id=here.id, hospital_id=hospital.id, at=at,
                                          eta=await handovers.eta_of(rt, here, hospital, at))
        statement = WITH_HANDOVER[S.TRANSPORTING]
    row = (await session.execute(statement, params)).first()
    return moved_unit(row, status["unit_id"]), written(row, "handover")


def written(row: Any, name: str) -> SimpleNamespace | None:
    """The row a CTE `name` of a status statement wrote, from the columns it returned beside
    the unit's (see fleet.service.status_statement); None if it wrote nothing."""
    prefix = f"{name}_"
    if row._mapping[f"{prefix}id"] is None:
        return None
    return SimpleNamespace(**{k[len(prefix):]: v for k, v in row._mapping.items()
                              if k.startswith(prefix)})


def _handover_done_along(unit_moved: Any) -> tuple[Any, ...]:
    job = ending_along(unit_moved)
    return (*handovers.finishing_along(unit_moved), job, incidents.closing_along(job))


JOBS = table(Assignment).c
HANDOVERS = handovers.HANDOVERS
INCIDENT_ROWS = table(Incident).c
# PostgreSQL: the handover done in one statement — the unit's status, the handover marked done
# with its audit entry, the job ended, the incident closed if that was its last open job.
HANDOVER_DONE = prebuilt(status_statement(then=_handover_done_along))
# The job, its open handover, and the incident's row lock (held until the commit: a second job
# of the incident ending at once waits, then sees this one ended; see incidents.after_job).
_OPEN_HANDOVER = (select(HANDOVERS.id, HANDOVERS.arrived_at)
                  .where(HANDOVERS.assignment_id == JOBS.id, one_of(HANDOVERS.status, handovers.ACTIVE))
                  .lateral("open_handover"))
JOB_AT_HANDOVER = prebuilt(
    select(*table(Assignment).c, _OPEN_HANDOVER.c.id.label("handover_id"),
           _OPEN_HANDOVER.c.arrived_at.label("handover_arrived_at"))
    .select_from(table(Assignment).join(table(Incident), INCIDENT_ROWS.id == JOBS.incident_id)
                 .outerjoin(_OPEN_HANDOVER, true()))
    .where(JOBS.id == bindparam("id")).with_for_update(of=table(Incident)))


async def _handing_over(
    session: AsyncSession, rt: Runtime, job: Any, status: dict[str, Any],
) -> list[OutgoingEvent]:
    """PostgreSQL: a crew's handover done, in one statement (HANDOVER_DONE) after the read that
    locked the incident (JOB_AT_HANDOVER); the news of it."""
    at, actor, reason = status["at"], status["actor"], status["reason"]
    params, _ = status_params(**status)
    entry = handovers.done_entry(actor, job.handover_id or job.id, arrived_at=job.handover_arrived_at,
                                 at=at, crew_reason=reason)  # written only with the handover
    row: Any = (await session.execute(HANDOVER_DONE, {
        **params, "handover_job": job.id, "handover_at": at,
        **handovers.finishing(at=at, by=actor, crew_reason=reason), **audit.params(entry),
        "end_job": job.id, "ending": A.COMPLETED, "job_ended_at": at,
        "end_reason": END_REASONS[S.HANDOVER_DONE], "closing_incident": job.incident_id})).first()
    moved_unit(row, status["unit_id"])
    events: list[OutgoingEvent] = []
    if (handover := written(row, "handover")) is not None:
        events.append(await handovers.done_news(session, rt, handover, at=at))
    if row.job_id is not None:
        ended = as_ended(job, A.COMPLETED, at, END_REASONS[S.HANDOVER_DONE])
        events.append(assignment_event(rt, "assignment.completed", ended, at))
    if row.incident_id is not None:
        events.append(rt.bus.event("incident.closed", {"incident_id": str(job.incident_id)}, at=at))
    return events


async def _door_news(
    session: AsyncSession, rt: Runtime, job: Any, unit: UnitRef, handover: SimpleNamespace | None,
    *, to: S, at: datetime,
) -> list[OutgoingEvent]:
    """What the hospital hears of a notice or an arrival written with the unit's status. A unit
    at the door whose notice never went out (no transport reported) sends it with the arrival,
    in a transaction of their own after the status."""
    if handover is None:
        if to != S.AT_HOSPITAL:
            return []
        statements_alone(session, alone=False)
        return await handovers.on_arrival(session=session, rt=rt, assignment=job, unit=unit, at=at)
    hospital = await handovers.hospital_of(session, rt, handover.hospital_id)
    kind = "handover.notice" if to == S.TRANSPORTING else "handover.arrived"
    return [rt.bus.event(kind, handovers.handover_data(handover, hospital, unit),
                         scope=handovers.scope_of(handover), at=at)]


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



async def change_status(
    *, session: AsyncSession, rt: Runtime, unit_id: str, to: S, actor: Actor,
    reason: str | None = None, at: datetime | None = None,
) -> UnitOut:
    """A crew reports its unit's new status (the state machine decides if it may)."""
    if to == S.ACKNOWLEDGED:
        row = await unit_row(rt, unit_id)
        if not row:
            raise NotFound(f"no unit {unit_id!r}")
        if not row.get("assignment"):
            raise IllegalTransition(f"unit {unit_id} has no job to acknowledge",
                                    status_now=row["status"], to=to)
        await acknowledge(session=session, rt=rt, assignment_id=uuid.UUID(row["assignment"]),
                                      actor=actor, unit_id=unit_id)
        return await get_unit(rt=rt, unit_id=unit_id)
    if to not in states.REPORTED:
        raise InvalidInput.field("body.status", f"{to} is set by the hub, not reported")
    row = await report(session=session, rt=rt, unit_id=unit_id, to=to, actor=actor,
                                   reason=reason, tapped_at=at)
    return unit_out({"id": unit_id, **row}, now_ms=ms(rt.clock.now()), stale_after_ms=stale_ms(rt))

