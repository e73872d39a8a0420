"""A home visit that finds more than a home visit can handle becomes an ambulance job (003 封控区内 2).

The temporary medical point's GP assesses the patient first; a patient who needs further
treatment goes by 120 ambulance. Here the GP's finding is recorded on the incident (audited),
the incident is routed again — now as a transport, so the decision names an ambulance and its
destination — and consoles are told. Assigning the ambulance and linking it to the home-visit
job is the fleet's part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.incidents.enums import IncidentStatus, Severity
from dispatch.incidents.models import Incident
from dispatch.places.schemas import EscalationOut
from dispatch.realtime.schemas import Scope
from dispatch.routing import service as routing_service
from dispatch.routing.models import RoutingDecision
from dispatch.routing.schemas import Outcome
from dispatch.runtime import Runtime

ESCALATED = "home_visit.escalated"


class NotAHomeVisit(Conflict):
    slug = "not-a-home-visit"
    title = "The incident's latest decision is not a home visit"


@dataclass(frozen=True, slots=True)
class Escalation:
    """The home visit that escalated and the transport decision that replaces it."""

    incident_id: uuid.UUID
    home_visit: RoutingDecision
    decision: RoutingDecision

    @property
    def home_visit_place_id(self) -> str | None:
        return _referral(self.home_visit).get("place_id")

    @property
    def home_visit_unit_id(self) -> str | None:
        return _referral(self.home_visit).get("unit_id")


def escalation_out(escalation: Escalation) -> EscalationOut:
    """The API shape of an escalation (for the route that exposes it)."""
    row = escalation.decision
    return EscalationOut(
        incident_id=escalation.incident_id, home_visit_decision_id=escalation.home_visit.id,
        home_visit_place_id=escalation.home_visit_place_id,
        home_visit_unit_id=escalation.home_visit_unit_id, decision_id=row.id, outcome=row.outcome,
        transport_mode=row.transport_mode, required_unit_capabilities=row.required_capabilities,
        destination_hospital_id=row.destination_hospital_id, decision=row.decision,
    )


def _referral(row: RoutingDecision) -> dict[str, Any]:
    referral = row.decision.get("referral")
    return referral if isinstance(referral, dict) else {}


async def latest_decision(session: AsyncSession, incident_id: uuid.UUID) -> RoutingDecision | None:
    query = (select(RoutingDecision).where(RoutingDecision.incident_id == incident_id)
             .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc()).limit(1))
    return (await session.scalars(query)).first()


async def escalate_home_visit(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, actor: Actor,
    severity: Severity, finding: str | None = None,
) -> Escalation:
    """Record the GP's finding (urgent or critical) and route the incident again, as a transport.

    Raises NotFound for an unknown incident, NotAHomeVisit (409) unless its latest decision is
    a home visit, InvalidInput (422) for a non-urgent finding. Commits.
    """
    if severity == Severity.NON_URGENT:
        raise InvalidInput.field("body.severity", "a home visit escalates to urgent or critical")
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.status not in (IncidentStatus.OPEN, IncidentStatus.DISPATCHED):
        raise Conflict(f"incident {incident_id} is {incident.status}", status_now=incident.status)
    home_visit = await latest_decision(session, incident_id)
    if home_visit is None or home_visit.outcome != Outcome.HOME_VISIT:
        raise NotAHomeVisit(
            f"incident {incident_id}'s latest decision is "
            f"{home_visit.outcome if home_visit else 'missing'}, not a home visit",
            outcome_now=home_visit.outcome if home_visit else None)
    now = rt.clock.now()
    before = {"severity": incident.severity}
    incident.severity = severity.value
    incident.updated_at = now
    await audit.record(session, actor=actor.name, role=actor.role, source=actor.source,
                       action="incident.escalated", target_type="incident",
                       target_id=str(incident_id), before=before,
                       after={"severity": severity.value, "finding": finding,
                              "home_visit_decision_id": str(home_visit.id)}, at=now)
    await session.commit()
    decision = await routing_service.decide_for_incident(
        session=session, rt=rt, incident_id=incident_id, actor=actor.name)
    result = Escalation(incident_id=incident_id, home_visit=home_visit, decision=decision)
    await rt.bus.publish(rt.bus.event(ESCALATED, {
        "incident_id": str(incident_id), "home_visit_decision_id": str(home_visit.id),
        "home_visit_unit_id": result.home_visit_unit_id, "decision_id": str(decision.id),
        "transport_mode": decision.transport_mode,
        "required_unit_capabilities": decision.required_capabilities,
        "destination_hospital_id": decision.destination_hospital_id, "finding": finding,
    }, scope=Scope(console=True, area=incident.sub_district_id,
                   units=(result.home_visit_unit_id,) if result.home_visit_unit_id else ()), at=now))
    return result
