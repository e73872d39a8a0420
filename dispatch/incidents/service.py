"""Incidents: created by the answering call-taker, updated as facts arrive, linked to calls."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.models import AuditEntry
from dispatch.calls.models import Call
from dispatch.db import dialect_insert, one_of, table
from dispatch.errors import InvalidInput, NotFound
from dispatch.fleet.enums import AssignmentStatus
from dispatch.fleet.models import Assignment, UnitEvent
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital
from dispatch.incidents.enums import IncidentStatus
from dispatch.incidents.models import Incident, IncidentSequence
from dispatch.incidents.schemas import IncidentOut
from dispatch.incidents.triage import Triage
from dispatch.prebuilt import prebuilt
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

# Changing any of these may change where the patient goes.

FIELDS = ("status", "address", "lat", "lon", "severity", "category", "infection_status", "flags",
          "complaint", "triage", "notes", "registered_hospital_id", "treating_hospital_id")
# A clock a little ahead of the hub's may put the onset a moment in the future.
ONSET_SKEW = timedelta(minutes=5)


def snapshot(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in FIELDS}


async def incident_out(session: AsyncSession, incident: Incident) -> IncidentOut:
    call_ids = list((await session.scalars(
        select(Call.id).where(Call.incident_id == incident.id).order_by(Call.rung_at))).all())
    latest = (await session.scalars(
        select(RoutingDecision).where(RoutingDecision.incident_id == incident.id)
        .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc()).limit(1))).first()
    return out_of(incident, call_ids, latest)


def out_of(incident: Incident, call_ids: list[uuid.UUID], latest: RoutingDecision | None) -> IncidentOut:
    """The incident as consoles see it: its calls and its latest routing decision."""
    out = IncidentOut.model_validate(incident)
    out.call_ids = call_ids
    if latest is not None:
        out.decision = {"id": str(latest.id), "decided_at": latest.decided_at.isoformat(),
                        **latest.decision}
    return out




def local_day(rt: Runtime, at: datetime) -> str:
    """The centre's calendar day of a moment, as incident numbers carry it (20261207)."""
    return at.astimezone(ZoneInfo(rt.settings.timezone)).strftime("%Y%m%d")


@cache
def _draw(dialect: str) -> Any:
    sequences = table(IncidentSequence).c
    draw = dialect_insert(dialect, IncidentSequence).values(day=bindparam("day"), last=1)
    return prebuilt(draw.on_conflict_do_update(index_elements=["day"], set_={"last": sequences.last + 1}
                                               ).returning(sequences.last))


INSERT_INCIDENT = prebuilt(insert(table(Incident)))
INCIDENT_COLUMNS = tuple(c.name for c in table(Incident).columns)


async def insert_numbered(session: AsyncSession, incident: Incident, *, day: str) -> None:
    """Write a new incident with the day's next number (two prebuilt statements; the counter's
    row lock orders incidents recorded at the same moment until their transactions end)."""
    draw = _draw(session.get_bind().dialect.name)
    number = (await session.execute(draw, {"day": day})).scalar_one()
    incident.number = f"{day}-{number:04d}"
    await session.execute(INSERT_INCIDENT, {n: getattr(incident, n) for n in INCIDENT_COLUMNS})


async def find_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


async def check_hospitals(session: AsyncSession, **ids: str | None) -> None:
    for field, hospital_id in ids.items():
        if hospital_id is not None and await session.get(Hospital, hospital_id) is None:
            raise InvalidInput.field(f"body.{field}", f"no hospital {hospital_id!r}")


def triage_of(triage: Triage | None, now: datetime) -> dict[str, Any] | None:
    """The triage as stored; an onset in the future is refused."""
    if triage is None:
        return None
    if triage.last_known_well is not None and triage.last_known_well > now + ONSET_SKEW:
        raise InvalidInput.field("body.triage.last_known_well", "is in the future")
    return triage.model_dump(mode="json", exclude_defaults=True)


async def list_incidents(
    *, session: AsyncSession, status: Sequence[str] = (), severity: str | None = None,
    zone_status: str | None = None, sub_district_id: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    text: str | None = None, limit: int = 100, offset: int = 0,
) -> list[Incident]:
    """Incidents, newest first, filtered; `text` finds an incident number, a caller's number
    or words of the address, complaint or notes."""
    query = (select(Incident).order_by(Incident.created_at.desc(), Incident.number.desc())
             .limit(limit).offset(offset))
    if status:
        query = query.where(Incident.status.in_(status))
    if severity:
        query = query.where(Incident.severity == severity)
    if zone_status:
        query = query.where(or_(Incident.zone_status == "normal", Incident.zone_status.is_(None))
                            if zone_status == "normal" else Incident.zone_status == zone_status)
    if sub_district_id:
        query = query.where(Incident.sub_district_id == sub_district_id)
    if since:
        query = query.where(Incident.created_at >= since)
    if until:
        query = query.where(Incident.created_at < until)
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        by_caller = select(Call.incident_id).where(Call.caller_number.like(like))
        query = query.where(or_(Incident.number.like(like), Incident.address.ilike(like),
                                Incident.complaint.ilike(like), Incident.notes.ilike(like),
                                Incident.id.in_(by_caller)))
    return list((await session.scalars(query)).all())


async def incidents_out(session: AsyncSession, incidents: list[Incident]) -> list[IncidentOut]:
    """Many incidents as consoles see them, in three queries whatever their number."""
    ids = [i.id for i in incidents]
    if not ids:
        return []
    calls: dict[uuid.UUID, list[uuid.UUID]] = {}
    for call_id, incident_id in (await session.execute(
            select(Call.id, Call.incident_id).where(Call.incident_id.in_(ids))
            .order_by(Call.rung_at))).all():
        if incident_id is not None:
            calls.setdefault(incident_id, []).append(call_id)
    latest: dict[uuid.UUID, RoutingDecision] = {}
    for decision in (await session.scalars(select(RoutingDecision).where(
            RoutingDecision.incident_id.in_(ids)).order_by(RoutingDecision.decided_at,
                                                             RoutingDecision.id))).all():
        if decision.incident_id is not None:
            latest[decision.incident_id] = decision
    units: dict[uuid.UUID, str] = {}
    for incident_id, unit_id in (await session.execute(
            select(Assignment.incident_id, Assignment.unit_id).where(
                Assignment.incident_id.in_(ids),  # a unit that declined or was stood down is not on it
                Assignment.status.notin_(("declined", "timed_out", "cancelled")))
            .order_by(Assignment.proposed_at))).all():
        units[incident_id] = unit_id
    out = []
    for incident in incidents:
        one = out_of(incident, calls.get(incident.id, []), latest.get(incident.id))
        one.unit_id = units.get(incident.id)
        out.append(one)
    return out




async def timeline(*, session: AsyncSession, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """Everything that happened to an incident, its calls, jobs and handovers, and its units'
    status changes while on its jobs: what, who and when, oldest first."""
    incident = await find_incident(session, incident_id)
    call_ids = [str(c) for c in (await session.scalars(
        select(Call.id).where(Call.incident_id == incident.id))).all()]
    jobs = (await session.scalars(select(Assignment).where(
        Assignment.incident_id == incident.id))).all()
    handover_ids = [str(h) for h in (await session.scalars(
        select(Handover.id).where(Handover.incident_id == incident.id))).all()]
    targets = [("incident", [str(incident.id)]), ("call", call_ids),
               ("assignment", [str(j.id) for j in jobs]), ("handover", handover_ids)]
    entries: list[AuditEntry] = []
    for target_type, target_ids in targets:
        if target_ids:
            entries += (await session.scalars(select(AuditEntry).where(
                AuditEntry.target_type == target_type, AuditEntry.target_id.in_(target_ids)))).all()
    entries.sort(key=lambda e: e.id)  # the order they were written, whatever the clock said
    steps = [{"at": e.at, "what": e.action, "who": e.actor, "role": e.actor_role,
              "target": e.target_type, "after": e.after} for e in entries]
    for job in jobs:
        window = [UnitEvent.unit_id == job.unit_id, UnitEvent.type == "status",
                  UnitEvent.at >= job.proposed_at]
        if job.ended_at is not None:
            window.append(UnitEvent.at <= job.ended_at)
        for event in (await session.scalars(select(UnitEvent).where(*window))).all():
            steps.append({"at": event.at, "what": f"unit.{event.to_status}", "who": event.actor,
                          "role": None, "target": f"unit {job.unit_id}",
                          "after": {"from": event.from_status, "to": event.to_status}})
    return sorted(steps, key=lambda s: s["at"])


INCIDENTS = table(Incident).c
JOBS = table(Assignment).c
OPEN_JOBS = (AssignmentStatus.CONFIRMED, AssignmentStatus.ACKNOWLEDGED)
LOCK_INCIDENT = prebuilt(select(INCIDENTS.id).where(INCIDENTS.id == bindparam("incident_id"))
                         .with_for_update())


def _another_open_job(incident: Any, *besides: Any) -> Any:
    """Whether the incident still has an open job (other than `besides` say)."""
    return select(JOBS.id).where(JOBS.incident_id == incident, one_of(JOBS.status, OPEN_JOBS),
                                 *besides).exists()


AFTER_JOB = prebuilt(update(table(Incident))
                     .where(INCIDENTS.id == bindparam("incident_id"),
                            INCIDENTS.status == IncidentStatus.DISPATCHED,
                            ~_another_open_job(bindparam("incident_id")))
                     .values(status=bindparam("to")).returning(INCIDENTS.id))


def closing_along(job_ended: Any) -> Any:
    """PostgreSQL: the incident closed (parameter `closing_incident`) as a CTE of the statement
    that ends one of its jobs (`job_ended`, a CTE returning that job's id), if that job ended
    and no other is open. The caller holds the incident's row lock since before the statement
    began, so it sees every other job that ended before it (see `after_job`)."""
    incident: Any = bindparam("closing_incident")
    return (update(table(Incident))
            .where(INCIDENTS.id == incident, INCIDENTS.status == IncidentStatus.DISPATCHED,
                   select(job_ended.c.id).exists(),
                   ~_another_open_job(incident, JOBS.id.not_in(select(job_ended.c.id))))
            .values(status=IncidentStatus.CLOSED).returning(INCIDENTS.id).cte("incident"))


MARK_DISPATCHED = prebuilt(update(table(Incident))
                           .where(INCIDENTS.id == bindparam("incident_id"),
                                  INCIDENTS.status == IncidentStatus.OPEN)
                           .values(status=IncidentStatus.DISPATCHED))


async def mark_dispatched(session: AsyncSession, incident_id: uuid.UUID) -> None:
    """An open incident has a unit on the way."""
    await session.execute(MARK_DISPATCHED, {"incident_id": incident_id})


async def after_job(
    session: AsyncSession, incident_id: uuid.UUID, *, completed: bool
) -> str | None:
    """Close the incident when its last job is done; reopen it when its only unit stood down
    (an UPDATE guarded by the incident's status and the absence of another open job).

    The incident's row is locked first: when its last two jobs end at once, the second waits
    for the first to commit and then sees that no job is left (under READ COMMITTED, each
    statement sees what committed before it began)."""
    if session.dirty:  # a job ended through the ORM (release) is written first
        await session.flush()
    await session.execute(LOCK_INCIDENT, {"incident_id": incident_id})
    to = IncidentStatus.CLOSED if completed else IncidentStatus.OPEN
    moved = await session.execute(AFTER_JOB, {"incident_id": incident_id, "to": to})
    return to if moved.first() is not None else None

