"""Incidents: created by the answering call-taker, updated as facts arrive, linked to calls."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.models import AuditEntry
from dispatch.audit.schemas import Actor
from dispatch.calls.models import Call, CallStatus
from dispatch.db import dialect_insert
from dispatch.errors import Conflict, DispatchError, InvalidInput, NotFound
from dispatch.fleet import assignments as fleet
from dispatch.fleet.models import Assignment, UnitEvent
from dispatch.handovers.models import Handover
from dispatch.hospitals.models import Hospital
from dispatch.incidents.models import Incident, IncidentSequence, IncidentStatus
from dispatch.incidents.schemas import IncidentIn, IncidentOut, IncidentUpdate, Location
from dispatch.incidents.triage import Triage
from dispatch.places import service as places_service
from dispatch.routing import service as routing_service
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

# Changing any of these may change where the patient goes.
ROUTING_FIELDS = {"location", "severity", "category", "infection_status", "flags", "triage",
                  "registered_hospital_id", "treating_hospital_id"}

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


async def route(
    session: AsyncSession, rt: Runtime, incident: Incident, actor: Actor
) -> RoutingDecision | None:
    """Decide where the patient goes as soon as the incident has a location; the decision made.

    A routing failure never loses the incident: it is logged and the console can ask again.
    """
    if incident.lat is None or incident.lon is None or incident.status != IncidentStatus.OPEN:
        return None
    try:
        return await routing_service.decide_for_incident(
            session=session, rt=rt, incident_id=incident.id, actor=actor.name)
    except DispatchError as error:
        log.warning("incident %s not routed: %s", incident.id, error.detail)
        return None


def local_day(rt: Runtime, at: datetime) -> str:
    """The centre's calendar day of a moment, as incident numbers carry it (20261207)."""
    return at.astimezone(ZoneInfo(rt.settings.timezone)).strftime("%Y%m%d")


async def add_numbered(session: AsyncSession, incident: Incident, *, day: str) -> None:
    """Add the incident with the day's next number: one upsert of the day's counter, whose row
    lock orders incidents recorded at the same moment until their transactions end."""
    draw = dialect_insert(session, IncidentSequence).values(day=day, last=1)
    draw = draw.on_conflict_do_update(index_elements=["day"],
                                      set_={"last": IncidentSequence.last + 1})
    number = (await session.execute(draw.returning(IncidentSequence.last))).scalar_one()
    incident.number = f"{day}-{number:04d}"
    session.add(incident)
    await session.flush()


async def find_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


async def _check_hospitals(session: AsyncSession, **ids: str | None) -> None:
    for field, hospital_id in ids.items():
        if hospital_id is not None and await session.get(Hospital, hospital_id) is None:
            raise InvalidInput.field(f"body.{field}", f"no hospital {hospital_id!r}")


def _triage(triage: Triage | None, now: datetime) -> dict[str, Any] | None:
    """The triage as stored; an onset in the future is refused."""
    if triage is None:
        return None
    if triage.last_known_well is not None and triage.last_known_well > now + ONSET_SKEW:
        raise InvalidInput.field("body.triage.last_known_well", "is in the future")
    return triage.model_dump(mode="json", exclude_defaults=True)


async def _check_location(session: AsyncSession, rt: Runtime, location: Location | None) -> None:
    if location is not None and location.lat is not None and location.lon is not None:
        await routing_service.check_service_area(session=session, rt=rt, lat=location.lat,
                                                 lon=location.lon, field="body.location")


async def _answered_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise InvalidInput.field("body.call_id", f"no call {call_id}")
    if call.status not in (CallStatus.ANSWERED, CallStatus.ENDED):
        raise Conflict(f"call is {call.status}: answer it before recording the incident",
                       status_now=call.status)
    return call


async def create_incident(
    *, session: AsyncSession, rt: Runtime, body: IncidentIn, actor: Actor
) -> IncidentOut:
    """Record the incident of an answered call."""
    call = await _answered_call(session, body.call_id)
    if call.incident_id is not None:
        raise Conflict(f"call already belongs to incident {call.incident_id}",
                       incident_id=str(call.incident_id))
    await _check_hospitals(session, registered_hospital_id=body.registered_hospital_id,
                           treating_hospital_id=body.treating_hospital_id)
    await places_service.check_referrer(session, body.flags.referred_by, "body.flags.referred_by")
    now = rt.clock.now()
    triage = _triage(body.triage, now)
    await _check_location(session, rt, body.location)
    incident = Incident(
        id=uuid.uuid4(), created_at=now, updated_at=now, created_by=actor.name,
        status=IncidentStatus.OPEN, address=body.location.address, lat=body.location.lat,
        lon=body.location.lon, severity=body.severity, category=body.category,
        infection_status=body.infection_status, flags=body.flags.model_dump(),
        complaint=body.complaint, triage=triage, notes=body.notes,
        registered_hospital_id=body.registered_hospital_id,
        treating_hospital_id=body.treating_hospital_id,
    )
    await add_numbered(session, incident, day=local_day(rt, now))
    call.incident_id = incident.id
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="incident.create", target_type="incident", target_id=str(incident.id),
                       before=None, after=snapshot(incident), at=now)
    await session.commit()
    decision = await route(session, rt, incident, actor)
    out = out_of(incident, [call.id], decision)  # a new incident: one call, no other decision
    await rt.bus.publish(rt.bus.event("incident.created", out.model_dump(mode="json"), at=now))
    await fleet.propose(rt, incident.id, reason="incident recorded", new=incident)
    return out


async def update_incident(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, body: IncidentUpdate,
    actor: Actor,
) -> IncidentOut:
    """Change the fields given; the others stay as they are."""
    incident = await find_incident(session, incident_id)
    given = body.model_fields_set
    if not given:
        raise InvalidInput.field("body", "nothing to change")
    for name in ("severity", "category", "infection_status", "flags", "location", "status"):
        if name in given and getattr(body, name) is None:
            raise InvalidInput.field(f"body.{name}", "may not be null")
    await _check_hospitals(session, registered_hospital_id=body.registered_hospital_id,
                           treating_hospital_id=body.treating_hospital_id)
    if body.flags is not None:
        await places_service.check_referrer(session, body.flags.referred_by, "body.flags.referred_by")
    now = rt.clock.now()
    triage = _triage(body.triage, now)
    await _check_location(session, rt, body.location)
    before = snapshot(incident)
    if body.location is not None:
        incident.address, incident.lat, incident.lon = (
            body.location.address, body.location.lat, body.location.lon)
    for name in ("severity", "category", "infection_status", "complaint", "notes",
                 "registered_hospital_id", "treating_hospital_id", "status"):
        if name in given:
            setattr(incident, name, getattr(body, name))
    if body.flags is not None:
        incident.flags = body.flags.model_dump()
    if "triage" in given:
        incident.triage = triage
    incident.updated_at = now
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="incident.update", target_type="incident", target_id=str(incident.id),
                       before=before, after=snapshot(incident), at=now)
    await session.commit()
    if ROUTING_FIELDS & given:
        await route(session, rt, incident, actor)
    out = await incident_out(session, incident)
    await rt.bus.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    if ROUTING_FIELDS & given:
        await fleet.propose(rt, incident.id, reason="incident changed")
    return out


async def link_call(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, call_id: uuid.UUID,
    actor: Actor,
) -> IncidentOut:
    """Link another caller's call to an incident (duplicate callers)."""
    incident = await find_incident(session, incident_id)
    call = await _answered_call(session, call_id)
    if call.incident_id == incident.id:
        return await incident_out(session, incident)
    if call.incident_id is not None:
        raise Conflict(f"call already belongs to incident {call.incident_id}",
                       incident_id=str(call.incident_id))
    now = rt.clock.now()
    call.incident_id = incident.id
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="incident.link_call", target_type="incident",
                       target_id=str(incident.id), before=None, after={"call_id": str(call.id)},
                       at=now)
    await session.commit()
    out = await incident_out(session, incident)
    await rt.bus.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    return out


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


async def reopen_incident(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, reason: str, actor: Actor
) -> IncidentOut:
    """Open a closed or cancelled incident again (the patient calls back, a job was ended by
    mistake); the reason is audited."""
    incident = await find_incident(session, incident_id)
    if incident.status not in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        raise Conflict(f"incident is {incident.status}: only a closed or cancelled one reopens",
                       status_now=incident.status)
    now = rt.clock.now()
    before = incident.status
    incident.status, incident.updated_at = IncidentStatus.OPEN, now
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="incident.reopen", target_type="incident", target_id=str(incident.id),
                       before={"status": before}, after={"status": "open", "reason": reason}, at=now)
    await session.commit()
    out = await incident_out(session, incident)
    await rt.bus.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    await fleet.propose(rt, incident.id, reason="incident reopened")
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
