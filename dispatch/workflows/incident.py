"""Incidents: record one for an answered call (numbered, routed and a unit proposed in one
unit of work), change it or reopen it (routed and proposed again)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import String, bindparam, case, cast, func, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.calls import service as calls
from dispatch.calls.models import Call
from dispatch.db import table
from dispatch.errors import Conflict, DispatchError, InvalidInput
from dispatch.hospitals import cache as hospital_cache
from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents import service as incidents
from dispatch.incidents.enums import IncidentStatus
from dispatch.incidents.models import Incident, IncidentSequence
from dispatch.incidents.schemas import IncidentIn, IncidentOut, IncidentUpdate, Location
from dispatch.places import service as places
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import Scope
from dispatch.routing import service as routing
from dispatch.routing.engine import evaluate
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime
from dispatch.work import Work, statements_alone
from dispatch.workflows import dispatch

log = logging.getLogger(__name__)


def _record_pg(routed: bool) -> Any:
    """PostgreSQL: the day's next number drawn, the incident written with it, the call linked,
    the routing decision (`routed`) and the audit entry, in one statement: no transaction
    block, every part or none. The number is returned."""
    sequences = table(IncidentSequence).c
    drawn = (pg_insert(table(IncidentSequence)).values(day=bindparam("day", type_=String), last=1)
             .on_conflict_do_update(index_elements=["day"], set_={"last": sequences.last + 1})
             .returning(sequences.last).cte("drawn"))
    last = cast(drawn.c.last, String)
    number = (bindparam("day", type_=String) + literal_column("'-'")
              + case((drawn.c.last < 10000, func.lpad(last, 4, literal_column("'0'"))), else_=last))
    columns = table(Incident).c
    written = [name for name in incidents.INCIDENT_COLUMNS if name != "number"]
    new = (insert(table(Incident)).from_select([*written, "number"], select(
        *(bindparam(f"new_incident_{name}", type_=columns[name].type) for name in written),
        number.label("number")).select_from(drawn))
        .returning(columns.id, columns.number).cte("new"))
    linked = (update(table(Call)).where(table(Call).c.id == bindparam("call_id"),
                                        select(new.c.id).exists())
              .values(incident_id=bindparam("incident_id", type_=columns.id.type))
              .returning(table(Call).c.id).cte("linked"))
    along = [linked, audit.along(new).cte("audited")]
    if routed:
        decisions = table(RoutingDecision).c
        along.append(insert(table(RoutingDecision)).from_select(
            list(routing.DECISION_COLUMNS),
            select(*(bindparam(f"decision_{name}", type_=decisions[name].type)
                     for name in routing.DECISION_COLUMNS)).select_from(new)).cte("decided"))
    return select(new.c.number).add_cte(*along)


RECORD_PG = prebuilt(_record_pg(routed=False))
RECORD_ROUTED_PG = prebuilt(_record_pg(routed=True))


async def _record(session: AsyncSession, work: Work, incident: Incident, *, day: str,
                  call_id: uuid.UUID, decision: RoutingDecision | None, entry: dict[str, Any]) -> None:
    """Write the new incident with its number, link its call, and record its decision and
    audit entry: one statement on PostgreSQL, several in the transaction elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        await incidents.insert_numbered(session, incident, day=day)
        await calls.link_to_incident(session, call_id, incident.id)
        work.audit_rows.append(entry)
        if decision is not None:
            await routing.record(session, decision)
        return
    params = {f"new_incident_{name}": getattr(incident, name) for name in incidents.INCIDENT_COLUMNS
              if name != "number"}
    params.update(day=day, call_id=call_id, incident_id=incident.id, **audit.params(entry))
    if decision is not None:
        params.update({f"decision_{name}": getattr(decision, name) for name in routing.DECISION_COLUMNS})
    incident.number = await work.scalar(RECORD_PG if decision is None else RECORD_ROUTED_PG, params)


async def create_incident(
    *, session: AsyncSession, rt: Runtime, body: IncidentIn, actor: Actor
) -> IncidentOut:
    """Record the incident of an answered call, decide where the patient goes and propose the
    unit to send, in one unit of work (its writes one statement on PostgreSQL); the events
    follow its commit.

    A routing failure never loses the incident: it is logged and the console can ask again."""
    work = Work(rt, session)
    statements_alone(session)  # reads that check, then one statement writes (PostgreSQL)
    call = await calls.answered_call(session, body.call_id)
    if call.incident_id is not None:
        raise Conflict(f"call already belongs to incident {call.incident_id}",
                       incident_id=str(call.incident_id))
    await incidents.check_hospitals(session, registered_hospital_id=body.registered_hospital_id,
                                    treating_hospital_id=body.treating_hospital_id)
    await places.check_referrer(session, body.flags.referred_by, "body.flags.referred_by")
    now = rt.clock.now()
    triage = incidents.triage_of(body.triage, now)
    location = body.location
    located = location.lat is not None and location.lon is not None
    current = (await versions.read(rt.redis, rt.keys, *routing.CONTEXT_VERSIONS)
               if located else None)
    if current is not None and location.lat is not None and location.lon is not None:
        snapshot: HospitalSnapshot = await hospital_cache.snapshot_cache(rt).get_at(
            rt, current[versions.HOSPITALS], session=session)
        routing.refuse_outside(rt, snapshot, lat=location.lat, lon=location.lon,
                               field="body.location")
    incident = Incident(
        id=uuid.uuid4(), number=None, created_at=now, updated_at=now, created_by=actor.name,
        status=IncidentStatus.OPEN, address=location.address, lat=location.lat,
        lon=location.lon, severity=body.severity, category=body.category,
        infection_status=body.infection_status, flags=body.flags.model_dump(),
        complaint=body.complaint, triage=triage, notes=body.notes,
        registered_hospital_id=body.registered_hospital_id,
        treating_hospital_id=body.treating_hospital_id, zone_id=None, zone_status=None,
        sub_district_id=None,
    )
    created = incidents.snapshot(incident)
    decision: RoutingDecision | None = None
    decided = None
    if current is not None and incident.lat is not None and incident.lon is not None:
        try:
            ctx, zones = await routing.routing_context(rt=rt, session=session, at=now,
                                                       current=current)
            zone = zones.lookup(incident.lat, incident.lon, now)
            decided = evaluate(routing.patient_of(incident, zone), ctx)
            incident.zone_id, incident.zone_status = zone.id, zone.status.value
            incident.sub_district_id = zones.sub_district(incident.lat, incident.lon, zone)
            decision = routing.decision_row(decided, incident_id=incident.id, at=now,
                                            actor=actor.name)
        except DispatchError as error:
            log.warning("incident %s not routed: %s", incident.id, error.detail)
    entry = audit.row(actor=actor, action="incident.create", target_type="incident",
                      target_id=str(incident.id), before=None, after=created, at=now)
    await _record(session, work, incident, day=incidents.local_day(rt, now), call_id=call.id,
                  decision=decision if decided is not None else None, entry=entry)
    if decision is not None and decided is not None:
        work.emit("routing.decided", routing.event_data(decision, decided),
                  scope=Scope(console=True, area=incident.sub_district_id), at=now)
    out = incidents.out_of(incident, [call.id], decision)
    work.emit("incident.created", out.model_dump(mode="json"), at=now)
    required = list(decision.required_capabilities) if decision is not None else ["ambulance"]
    send = await dispatch.propose_new(work, incident, required=required, reason="incident recorded")
    await work.commit()
    if send:
        await dispatch.send_first(session=session, rt=rt, incident_id=incident.id, units=send)
    return out


ROUTING_FIELDS = {"location", "severity", "category", "infection_status", "flags", "triage",
                  "registered_hospital_id", "treating_hospital_id"}


async def route(
    session: AsyncSession, rt: Runtime, incident: Incident, actor: Actor
) -> RoutingDecision | None:
    """Decide where the patient goes as soon as the incident has a location; the decision made.

    A routing failure never loses the incident: it is logged and the console can ask again.
    """
    if incident.lat is None or incident.lon is None or incident.status != IncidentStatus.OPEN:
        return None
    try:
        return await routing.decide_for_incident(
            session=session, rt=rt, incident_id=incident.id, actor=actor.name)
    except DispatchError as error:
        log.warning("incident %s not routed: %s", incident.id, error.detail)
        return None


async def update_incident(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, body: IncidentUpdate,
    actor: Actor,
) -> IncidentOut:
    """Change the fields given; the others stay as they are."""
    incident = await incidents.find_incident(session, incident_id)
    given = body.model_fields_set
    if not given:
        raise InvalidInput.field("body", "nothing to change")
    for name in ("severity", "category", "infection_status", "flags", "location", "status"):
        if name in given and getattr(body, name) is None:
            raise InvalidInput.field(f"body.{name}", "may not be null")
    await incidents.check_hospitals(session, registered_hospital_id=body.registered_hospital_id,
                           treating_hospital_id=body.treating_hospital_id)
    if body.flags is not None:
        await places.check_referrer(session, body.flags.referred_by, "body.flags.referred_by")
    now = rt.clock.now()
    triage = incidents.triage_of(body.triage, now)
    await check_location(session, rt, body.location)
    before = incidents.snapshot(incident)
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
                       before=before, after=incidents.snapshot(incident), at=now)
    await session.commit()
    if ROUTING_FIELDS & given:
        await route(session, rt, incident, actor)
    out = await incidents.incident_out(session, incident)
    await rt.bus.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    if ROUTING_FIELDS & given:
        await dispatch.propose(rt, incident.id, reason="incident changed")
    return out


async def reopen_incident(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, reason: str, actor: Actor
) -> IncidentOut:
    """Open a closed or cancelled incident again (the patient calls back, a job was ended by
    mistake); the reason is audited."""
    incident = await incidents.find_incident(session, incident_id)
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
    out = await incidents.incident_out(session, incident)
    await rt.bus.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    await dispatch.propose(rt, incident.id, reason="incident reopened")
    return out


async def check_location(session: AsyncSession, rt: Runtime, location: Location | None) -> None:
    if location is not None and location.lat is not None and location.lon is not None:
        await routing.check_service_area(session=session, rt=rt, lat=location.lat,
                                                 lon=location.lon, field="body.location")


async def link_call(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, call_id: uuid.UUID,
    actor: Actor,
) -> IncidentOut:
    """Link another caller's call to an incident (duplicate callers)."""
    incident = await incidents.find_incident(session, incident_id)
    call = await calls.answered_call(session, call_id)
    if call.incident_id == incident.id:
        return await incidents.incident_out(session, incident)
    if call.incident_id is not None:
        raise Conflict(f"call already belongs to incident {call.incident_id}",
                       incident_id=str(call.incident_id))
    now = rt.clock.now()
    work = Work(rt, session)
    await calls.link_to_incident(session, call_id, incident.id)
    work.audit(actor, "incident.link_call", "incident", str(incident.id), before=None,
               after={"call_id": str(call_id)}, at=now)
    out = await incidents.incident_out(session, incident)
    work.publish(rt.bus.event("incident.updated", out.model_dump(mode="json"), at=now))
    await work.commit()
    return out
