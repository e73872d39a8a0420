"""Record the incident of an answered call: number it, route it, propose a unit — one commit."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit.schemas import Actor
from dispatch.calls import service as calls
from dispatch.errors import Conflict, DispatchError
from dispatch.fleet import assignments as fleet
from dispatch.hospitals import service as hospitals
from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents import service as incidents
from dispatch.incidents.models import Incident, IncidentStatus
from dispatch.incidents.schemas import IncidentIn, IncidentOut
from dispatch.places import service as places
from dispatch.realtime.schemas import Scope
from dispatch.routing import service as routing
from dispatch.routing.engine import evaluate
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime
from dispatch.work import Work

log = logging.getLogger(__name__)


async def create_incident(
    *, session: AsyncSession, rt: Runtime, body: IncidentIn, actor: Actor
) -> IncidentOut:
    """Record the incident of an answered call, decide where the patient goes and propose the
    unit to send, in one transaction; the events follow its commit.

    A routing failure never loses the incident: it is logged and the console can ask again."""
    work = Work(rt, session)
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
        snapshot: HospitalSnapshot = await hospitals.snapshot_cache(rt).get_at(
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
            decision = routing.decision_row(decided, incident_id=incident.id, at=now,
                                            actor=actor.name)
        except DispatchError as error:
            log.warning("incident %s not routed: %s", incident.id, error.detail)
    await incidents.insert_numbered(session, incident, day=incidents.local_day(rt, now))
    await calls.link_to_incident(session, call.id, incident.id)
    work.audit(actor, "incident.create", "incident", str(incident.id), before=None, after=created,
               at=now)
    if decision is not None and decided is not None:
        await routing.record(session, decision)
        work.emit("routing.decided", routing.event_data(decision, decided),
                  scope=Scope(console=True, area=incident.sub_district_id), at=now)
    out = incidents.out_of(incident, [call.id], decision)
    work.emit("incident.created", out.model_dump(mode="json"), at=now)
    required = list(decision.required_capabilities) if decision is not None else ["ambulance"]
    send = await fleet.propose_new(work, incident, required=required, reason="incident recorded")
    await work.commit()
    if send:
        await fleet.send_first(session=session, rt=rt, incident_id=incident.id, units=send)
    return out
