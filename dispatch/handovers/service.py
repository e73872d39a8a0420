"""Handovers at the hospital door: pre-arrival notice, arrival, the 15-minute clock (seed 004).

The fleet calls `on_transporting`, `on_arrival` and `on_handover_done` inside the transaction
that changes the unit's status; they add rows and return the events to publish after commit.
A hospital (or the crew, with a reason) marks the handover done through `mark_done`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.db import dialect_insert, one_of, table
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.fleet.models import Assignment, Unit, UnitRef
from dispatch.handovers.enums import HandoverStatus
from dispatch.handovers.models import Handover
from dispatch.hospitals.cache import snapshot_cache
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.snapshot import HospitalView
from dispatch.incidents.models import Incident
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import OutgoingEvent, Scope
from dispatch.runtime import Runtime
from dispatch.travel import Origin
from dispatch.versions import UNKNOWN

# Straight-line distance × this factor ÷ speed gives a conservative ETA for the notice.
ACTIVE = (HandoverStatus.INCOMING, HandoverStatus.ARRIVED)
# Why a crew closes a handover the hospital has not confirmed (the tablet offers these).
CREW_REASONS = ("hospital_not_on_system", "no_response_within_target", "handed_over_in_person")
HANDOVERS = table(Handover).c
INCIDENTS = table(Incident).c
HOSPITALS = table(Hospital).c


def scope_of(handover: Any) -> Scope:
    """Handover news goes to consoles, the receiving hospital and the unit's tablet."""
    return Scope(console=True, hospitals=(handover.hospital_id,), units=(handover.unit_id,))


def handover_data(handover: Any, hospital: Hospital | HospitalView | None = None,
                  unit: Unit | UnitRef | None = None) -> dict[str, Any]:
    """A handover as consoles, hospitals and tablets see it (`handover` is a Handover or a row
    of the handovers table)."""
    return {
        "handover_id": str(handover.id), "id": str(handover.id),
        "assignment_id": str(handover.assignment_id), "incident_id": str(handover.incident_id),
        "unit_id": handover.unit_id, "unit_call_sign": unit.call_sign if unit else None,
        "hospital_id": handover.hospital_id,
        "hospital_name": (hospital.name_zh or hospital.name) if hospital else None,
        "status": handover.status, "category": handover.category, "severity": handover.severity,
        "infection_status": handover.infection_status, "triage": handover.triage,
        "notice_at": handover.notice_at,
        "eta_at": handover.eta_at, "notice_acknowledged_at": handover.notice_acknowledged_at,
        "arrived_at": handover.arrived_at, "done_at": handover.done_at,
        "done_by": handover.done_by, "overdue_level": handover.overdue_level,
    }


async def hospital_of(session: AsyncSession, rt: Runtime,
                      hospital_id: str) -> Hospital | HospitalView | None:
    """A hospital's name and position: from this process's routing snapshot while it is recent
    (names and positions change rarely), else from the database."""
    cache = snapshot_cache(rt)
    view = cache.value.by_id.get(hospital_id) if cache.fresh(UNKNOWN) and cache.value else None
    return view if view is not None else await session.get(Hospital, hospital_id)


async def on_transporting(
    *, session: AsyncSession, rt: Runtime, assignment: Assignment, unit: UnitRef, at: datetime
) -> list[OutgoingEvent]:
    """The unit starts transporting: tell the destination hospital what is coming, and when.

    One statement writes the notice with the incident's category, severity, infection status
    and triage (complaint protocol, age, sex, last known well, danger signs; INSERT … SELECT).
    A job has one handover row: it is written again only if its notice was withdrawn (the
    patient was rerouted), and nothing is written for a hospital or incident that no longer
    exists."""
    if assignment.destination_hospital_id is None:
        return []
    hospital = await hospital_of(session, rt, assignment.destination_hospital_id)
    if hospital is None:
        return []
    eta = await eta_of(rt, unit, hospital, at)
    written = (await session.execute(notice_statement(session), notice_params(
        assignment, unit_id=unit.id, hospital_id=hospital.id, at=at, eta=eta))).first()
    if written is None:  # the job has its notice already
        return []
    return [rt.bus.event("handover.notice", handover_data(written, hospital, unit),
                         scope=scope_of(written), at=at)]


COPIED = ("category", "severity", "infection_status", "triage")


@cache
def _notice(dialect: str) -> Any:
    return prebuilt(notice_insert(dialect))


def notice_insert(dialect: str, *guards: Any) -> Any:
    """The notice with the incident's facts (INSERT … SELECT), written again only over a
    withdrawn one; nothing for an incident or hospital that no longer exists (or where one of
    `guards` is false)."""
    given = {"id": bindparam("id", type_=HANDOVERS.id.type),
             "assignment_id": bindparam("assignment_id", type_=HANDOVERS.assignment_id.type),
             "unit_id": bindparam("unit_id", type_=HANDOVERS.unit_id.type),
             "hospital_id": bindparam("hospital_id", type_=HANDOVERS.hospital_id.type),
             "status": literal_column(f"'{HandoverStatus.INCOMING.value}'"),
             "notice_at": bindparam("notice_at", type_=HANDOVERS.notice_at.type),
             "eta_at": bindparam("eta_at", type_=HANDOVERS.eta_at.type),
             "overdue_level": literal_column("0")}
    source = select(
        *(value.label(name) for name, value in given.items()),
        INCIDENTS.id.label("incident_id"), *(INCIDENTS[name] for name in COPIED),
    ).where(INCIDENTS.id == bindparam("incident_id"),
            select(HOSPITALS.id).where(HOSPITALS.id == bindparam("hospital_id")).exists(),
            *guards)
    notice = dialect_insert(dialect, table(Handover)).from_select(
        [*given, "incident_id", *COPIED], source)
    renewed = {name: notice.excluded[name] for name in
               ("unit_id", "hospital_id", "status", "notice_at", "eta_at", *COPIED)}
    cleared = dict.fromkeys(("notice_acknowledged_at", "notice_acknowledged_by", "arrived_at",
                             "done_at", "done_by", "done_by_crew_reason"))
    return notice.on_conflict_do_update(
        index_elements=["assignment_id"], set_={**renewed, **cleared, "overdue_level": 0},
        where=HANDOVERS.status == HandoverStatus.CANCELLED,
    ).returning(*HANDOVERS)


def notice_statement(session: AsyncSession) -> Any:
    return _notice(session.get_bind().dialect.name)


def _arriving(*guards: Any) -> Any:
    """The handover clock starts: the job's notice marked arrived (where `guards` hold)."""
    return (update(table(Handover))
            .where(HANDOVERS.assignment_id == bindparam("handover_job"),
                   HANDOVERS.status == HandoverStatus.INCOMING, *guards)
            .values(status=HandoverStatus.ARRIVED,
                    arrived_at=bindparam("handover_at", type_=HANDOVERS.arrived_at.type))
            .returning(*HANDOVERS))


ARRIVE = prebuilt(_arriving())


def noticing(unit_moved: Any) -> tuple[Any, ...]:
    """PostgreSQL: the notice (`notice_insert`'s parameters) as a CTE of the statement that
    moves the unit (see fleet.service.status_statement), written only if the unit moved."""
    return (notice_insert("postgresql", select(unit_moved.c.id).exists()).cte("handover"),)


def arriving(unit_moved: Any) -> tuple[Any, ...]:
    """PostgreSQL: the arrival (parameters `handover_job`, `handover_at`) as a CTE of the
    statement that moves the unit, written only if the unit moved."""
    return (_arriving(select(unit_moved.c.id).exists()).cte("handover"),)


def notice_params(assignment: Any, *, unit_id: str, hospital_id: str, at: datetime,
                  eta: datetime | None) -> dict[str, Any]:
    """The parameters of the notice statement."""
    return {"id": uuid.uuid4(), "assignment_id": assignment.id, "unit_id": unit_id,
            "hospital_id": hospital_id, "notice_at": at, "eta_at": eta,
            "incident_id": assignment.incident_id}


async def eta_of(rt: Runtime, unit: Any, hospital: Any, at: datetime) -> datetime | None:
    """When the unit will be at the hospital's door, by the fleet's travel model (settings,
    OSRM); None for a unit whose position is not known."""
    if unit.lat is None or unit.lon is None:
        return None
    ride = await rt.travel.estimate([Origin(unit.id, "ambulance", unit.lat, unit.lon)],
                                    hospital.lat, hospital.lon)
    return at + timedelta(seconds=ride.by_unit[unit.id].seconds)


OPEN_OF_JOB = prebuilt(select(HANDOVERS.id).where(HANDOVERS.assignment_id == bindparam("job_id"),
                                                  one_of(HANDOVERS.status, ACTIVE)))


async def on_arrival(
    *, session: AsyncSession, rt: Runtime, assignment: Assignment, unit: UnitRef, at: datetime
) -> list[OutgoingEvent]:
    """The crew marks arrival: the handover clock starts."""
    arrival = {"handover_job": assignment.id, "handover_at": at}
    events: list[OutgoingEvent] = []
    handover = (await session.execute(ARRIVE, arrival)).first()
    if handover is None:  # no notice went out (no transport status): send it with the arrival
        events = await on_transporting(session=session, rt=rt, assignment=assignment, unit=unit, at=at)
        if not events:  # no destination, or the handover is past arrival already
            return []
        handover = (await session.execute(ARRIVE, arrival)).one()
    hospital = await hospital_of(session, rt, handover.hospital_id)
    return [*events, rt.bus.event("handover.arrived", handover_data(handover, hospital, unit),
                                  scope=scope_of(handover), at=at)]


def _finishing(*where: Any, at: Any = None) -> Any:
    """Mark a handover that is still open done (a patient handed over at the door waited 0 min)."""
    at = bindparam("at", type_=HANDOVERS.done_at.type) if at is None else at
    return (update(table(Handover)).where(*where, one_of(HANDOVERS.status, ACTIVE))
            .values(status=HandoverStatus.HANDED_OVER, done_at=at, done_by=bindparam("by"),
                    done_by_crew_reason=bindparam("crew_reason"),
                    arrived_at=func.coalesce(HANDOVERS.arrived_at, at))
            .returning(*HANDOVERS))


FINISH_JOB = prebuilt(_finishing(HANDOVERS.assignment_id == bindparam("job_id")))
FINISH = prebuilt(_finishing(HANDOVERS.id == bindparam("handover_id")))


def finishing(*, at: datetime, by: Actor, crew_reason: str | None) -> dict[str, Any]:
    """The parameters of FINISH and FINISH_JOB."""
    return {"at": at, "by": by.name[:64], "crew_reason": crew_reason}


def unexplained() -> InvalidInput:
    """A crew closing a handover the hospital has not confirmed gives a reason."""
    return InvalidInput.field(
        "body.reason", "the hospital has not confirmed the handover: say why it is closed "
        f"without them ({', '.join(CREW_REASONS)})")


async def on_handover_done(
    *, session: AsyncSession, rt: Runtime, assignment: Assignment, unit: UnitRef, at: datetime,
    actor: Actor, reason: str | None,
) -> list[OutgoingEvent]:
    """The unit reports the handover done; unless the hospital already did, a reason is needed."""
    if not reason:
        if (await session.execute(OPEN_OF_JOB, {"job_id": assignment.id})).first() is None:
            return []  # the hospital confirmed it (or there is none): nothing to explain
        raise unexplained()
    handover = (await session.execute(FINISH_JOB, {
        "job_id": assignment.id, **finishing(at=at, by=actor, crew_reason=reason)})).first()
    if handover is None:
        return []
    return await _handed_over(session, rt, handover, at=at, by=actor, crew_reason=reason)


async def _handed_over(session: AsyncSession, rt: Runtime, handover: Any, *, at: datetime,
                       by: Actor, crew_reason: str | None) -> list[OutgoingEvent]:
    """What follows a handover written as done: its time, the audit row and the news."""
    await session.execute(audit.INSERT_ENTRY, done_entry(
        by, handover.id, arrived_at=handover.arrived_at, at=at, crew_reason=crew_reason))
    return [await done_news(session, rt, handover, at=at)]


def done_entry(by: Actor, handover_id: uuid.UUID, *, arrived_at: datetime | None, at: datetime,
               crew_reason: str | None) -> dict[str, Any]:
    """The audit entry of a handover done (a patient handed over at the door waited 0 min)."""
    minutes = round((at - (arrived_at or at)).total_seconds() / 60, 2)
    return audit.row(actor=by, action="handover.done", target_type="handover",
                     target_id=str(handover_id), before={"status": "arrived"},
                     after={"status": "handed_over", "crew_reason": crew_reason,
                            "minutes": minutes}, at=at)


async def done_news(session: AsyncSession, rt: Runtime, handover: Any, *,
                    at: datetime) -> OutgoingEvent:
    """A handover written as done: its time measured, and the news of it."""
    seconds = (at - handover.arrived_at).total_seconds()
    rt.metrics.handover_seconds.labels(handover.hospital_id).observe(max(seconds, 0.0))
    hospital = await hospital_of(session, rt, handover.hospital_id)
    return rt.bus.event("handover.done", {**handover_data(handover, hospital),
                                          "minutes": round(seconds / 60, 2)},
                        scope=scope_of(handover), at=at)


def finishing_along(unit_moved: Any) -> tuple[Any, ...]:
    """PostgreSQL: the job's open handover marked done (parameters `handover_job`,
    `handover_at`, `by`, `crew_reason`) and its audit entry (`audit.params` of `done_entry`),
    as CTEs of the statement that moves the unit, written only if the unit moved."""
    finished = _finishing(HANDOVERS.assignment_id == bindparam("handover_job"),
                          select(unit_moved.c.id).exists(),
                          at=bindparam("handover_at", type_=HANDOVERS.done_at.type)).cte("handover")
    return finished, audit.along(finished).cte("handover_audited")


async def of_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> dict[str, Any] | None:
    """Where the job's handover stands, for the crew's tablet (None before transport)."""
    row = (await session.execute(select(
        HANDOVERS.status, HANDOVERS.notice_acknowledged_at, HANDOVERS.arrived_at,
        HANDOVERS.done_at, HANDOVERS.overdue_level).where(
        HANDOVERS.assignment_id == assignment_id, HANDOVERS.status != HandoverStatus.CANCELLED)
    )).first()
    if row is None:
        return None
    return {**row._asdict(), "crew_reasons": list(CREW_REASONS)}


async def find(session: AsyncSession, handover_id: str) -> Handover:
    try:
        key = uuid.UUID(handover_id)
    except ValueError:
        raise NotFound(f"no handover {handover_id!r}") from None
    handover = await session.get(Handover, key)
    if handover is None:
        raise NotFound(f"no handover {handover_id!r}")
    return handover


def check_hospital(actor_hospital: str | None, handover: Handover) -> None:
    """A hospital terminal acts only on its own patients."""
    if actor_hospital is not None and actor_hospital != handover.hospital_id:
        raise NotFound(f"no handover {handover.id} at this hospital")


async def acknowledge_notice(
    *, session: AsyncSession, rt: Runtime, handover_id: str, actor: Actor,
    hospital_id: str | None = None,
) -> Handover:
    """The hospital confirms it has seen the pre-arrival notice."""
    handover = await find(session, handover_id)
    check_hospital(hospital_id, handover)
    if handover.notice_acknowledged_at is not None:
        return handover
    now = rt.clock.now()
    handover.notice_acknowledged_at = now
    handover.notice_acknowledged_by = actor.name[:64]
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="handover.notice_acknowledged", target_type="handover",
                       target_id=str(handover.id), before=None, after={"at": now}, at=now)
    await session.commit()
    await rt.bus.publish(rt.bus.event("handover.notice_acknowledged", handover_data(handover),
                                      scope=scope_of(handover), at=now))
    return handover


async def mark_done(
    *, session: AsyncSession, rt: Runtime, handover_id: str, actor: Actor, crew_reason: str | None,
    hospital_id: str | None = None,
) -> tuple[Any, bool]:
    """The hospital takes the patient over (or the crew, giving a reason); returns the handover
    and whether this call finished it (the unit at the door is then done with its job).

    The write is guarded by the handover's status: when the hospital and the crew finish it at
    the same moment, one of them does and the other sees it done."""
    handover = await find(session, handover_id)
    check_hospital(hospital_id, handover)
    if handover.status == HandoverStatus.HANDED_OVER:
        return handover, False
    if handover.status == HandoverStatus.CANCELLED:
        raise Conflict("the handover was cancelled", status_now=handover.status)
    now = rt.clock.now()
    done = (await session.execute(FINISH, {
        "handover_id": handover.id, **finishing(at=now, by=actor, crew_reason=crew_reason)})).first()
    if done is None:  # finished or withdrawn a moment ago
        await session.refresh(handover)
        if handover.status == HandoverStatus.CANCELLED:
            raise Conflict("the handover was cancelled", status_now=handover.status)
        return handover, False
    events = await _handed_over(session, rt, done, at=now, by=actor, crew_reason=crew_reason)
    await session.commit()
    await rt.bus.publish(*events)
    return done, True


async def cancel_for_assignment(
    *, session: AsyncSession, rt: Runtime, assignment_id: uuid.UUID, at: datetime, reason: str
) -> list[OutgoingEvent]:
    """The patient will not arrive (rerouted or the job ended): tell the hospital."""
    handover = (await session.scalars(select(Handover).where(
        Handover.assignment_id == assignment_id, Handover.status.in_(ACTIVE)))).first()
    if handover is None:
        return []
    handover.status = HandoverStatus.CANCELLED
    await session.flush()
    return [rt.bus.event("handover.cancelled", {**handover_data(handover), "reason": reason},
                         scope=scope_of(handover), at=at)]


async def active(*, session: AsyncSession, hospital_id: str | None = None) -> list[dict[str, Any]]:
    """Patients coming in or waiting at the door, with clocks (oldest first)."""
    query = (select(Handover, Hospital, Unit)
             .join(Hospital, Hospital.id == Handover.hospital_id)
             .join(Unit, Unit.id == Handover.unit_id, isouter=True)
             .where(Handover.status.in_(ACTIVE)).order_by(Handover.notice_at))
    if hospital_id:
        query = query.where(Handover.hospital_id == hospital_id)
    rows = (await session.execute(query)).all()
    return [handover_data(h, hospital, unit) for h, hospital, unit in rows]


async def overdue_tick(rt: Runtime, now: datetime | None = None) -> list[tuple[str, int]]:
    """Raise `handover.overdue` at the target and again every repeat interval, once per level."""
    now = now or rt.clock.now()
    target = timedelta(minutes=rt.settings.handover_target_minutes)
    repeat = timedelta(minutes=rt.settings.handover_repeat_minutes)
    raised: list[tuple[str, int]] = []
    events = []
    async with rt.sessionmaker() as session:
        rows = (await session.execute(
            select(Handover, Hospital).join(Hospital, Hospital.id == Handover.hospital_id)
            .where(Handover.status == HandoverStatus.ARRIVED, Handover.arrived_at <= now - target)
        )).all()
        for handover, hospital in rows:
            assert handover.arrived_at is not None
            waited = now - handover.arrived_at
            level = 1 + int((waited - target) / repeat)
            if level <= handover.overdue_level:
                continue
            claimed = await session.execute(
                update(Handover).where(Handover.id == handover.id,
                                       Handover.overdue_level < level)
                .values(overdue_level=level).returning(Handover.id))
            if claimed.first() is None:
                continue  # another instance raised this level
            handover.overdue_level = level
            minutes = round(waited.total_seconds() / 60, 1)
            events.append(rt.bus.event("handover.overdue", {
                **handover_data(handover, hospital), "minutes": minutes, "level": level,
                "alert": {"audience": "supervisor", "level": "critical" if level > 1 else "warning",
                          "reason": f"not handed over after {minutes:g} min"},
            }, scope=scope_of(handover), at=now))
            raised.append((str(handover.id), level))
        await session.commit()
    await rt.bus.publish(*events)
    rt.metrics.handovers_overdue.set(len(rows))
    return raised
