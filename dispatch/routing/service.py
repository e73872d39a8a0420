"""Routing services: rule-set versions, and decisions for incidents and hypothetical patients."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.db import table
from dispatch.errors import InvalidInput, NotFound, validation_errors
from dispatch.hospitals import cache as hospital_cache
from dispatch.hospitals.snapshot import HospitalSnapshot
from dispatch.incidents.models import Incident
from dispatch.incidents.triage import Triage
from dispatch.places import cache as place_cache
from dispatch.places.enums import PlaceKind
from dispatch.places.snapshot import PLACES, PlaceSnapshot
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import Scope
from dispatch.routing import rule_sets
from dispatch.routing.engine import PatientFacts, RoutingContext, evaluate, outside_service_area
from dispatch.routing.exceptions import NotRoutable
from dispatch.routing.models import RoutingDecision
from dispatch.routing.rules import CompiledRuleSet
from dispatch.routing.schemas import Decision, EvaluateRequest
from dispatch.runtime import Runtime
from dispatch.zones import cache as zone_cache
from dispatch.zones.index import ZoneIndex, ZoneMatch

__all__ = ["CONTEXT_VERSIONS", "decide_for_incident", "decision_row", "decisions_for_incident",
           "default_source", "evaluate_hypothetical", "event_data", "install_default_rule_set",
           "record", "refuse_outside", "routing_context"]

KNOWN_FLAGS = ("isolation", "has_certificate", "registered_hospital_id", "treating_hospital_id",
               "referred_by")


@cache
def default_source() -> str:
    """The default rule set shipped with the hub (seeds 000-004)."""
    data = resources.files("dispatch.routing").joinpath("data", "default_rules.yaml")
    return data.read_text(encoding="utf-8")


async def install_default_rule_set(rt: Runtime) -> None:
    """Start-up hook: a hub with no active rule set activates the shipped default."""
    await rule_sets.ensure_default(rt, default_source())


CONTEXT_VERSIONS = (versions.ZONES, versions.HOSPITALS, versions.RULES, PLACES)


async def routing_context(
    *, rt: Runtime, session: AsyncSession, at: datetime, rule_set_version: int | None = None,
    current: dict[str, versions.Version] | None = None,
) -> tuple[RoutingContext, ZoneIndex]:
    """Zones, hospitals, places and rules as every instance sees them now (one Redis round trip,
    none when the caller has read `current` = the CONTEXT_VERSIONS already)."""
    if current is None:
        current = await versions.read(rt.redis, rt.keys, *CONTEXT_VERSIONS)
    zones = await zone_cache.index_cache(rt).get_at(rt, current[versions.ZONES], session=session)
    hospitals: HospitalSnapshot = await hospital_cache.snapshot_cache(rt).get_at(
        rt, current[versions.HOSPITALS], session=session)
    places: PlaceSnapshot = await place_cache.snapshot_cache(rt).get_at(
        rt, current[PLACES], session=session)
    rules: CompiledRuleSet
    if rule_set_version is None:
        rules = await rule_sets.active_cache(rt).get_at(rt, current[versions.RULES], session=session)
    else:
        rules = await rule_sets.compiled(rt=rt, session=session, version=rule_set_version)
    return RoutingContext(rules=rules, hospitals=hospitals, zones=zones, places=places, at=at,
                          service_radius_km=rt.settings.service_radius_km,
                          timezone=rt.settings.timezone), zones


async def check_service_area(*, session: AsyncSession, rt: Runtime, lat: float, lon: float,
                             field: str) -> None:
    """Refuse a location farther than the service radius from every hospital (naming `field`)."""
    current = await versions.read(rt.redis, rt.keys, versions.HOSPITALS)
    hospitals: HospitalSnapshot = await hospital_cache.snapshot_cache(rt).get_at(
        rt, current[versions.HOSPITALS], session=session)
    refuse_outside(rt, hospitals, lat=lat, lon=lon, field=field)


def refuse_outside(rt: Runtime, hospitals: HospitalSnapshot, *, lat: float, lon: float,
                   field: str) -> None:
    """Refuse a location farther than the service radius from every hospital (naming `field`)."""
    km = outside_service_area(hospitals, lat, lon, rt.settings.service_radius_km)
    if km is not None:
        raise InvalidInput.field(field, f"outside the service area: the nearest hospital is "
                                 f"{km:,.0f} km away (limit {rt.settings.service_radius_km:g} km)")


async def evaluate_hypothetical(
    *, session: AsyncSession, rt: Runtime, request: EvaluateRequest
) -> Decision:
    """Where the hub would send a patient like this, and why (nothing is recorded)."""
    at = request.at or rt.clock.now()
    await check_service_area(session=session, rt=rt, lat=request.lat, lon=request.lon,
                             field="body.lat")
    ctx, _ = await routing_context(rt=rt, session=session, at=at,
                                   rule_set_version=request.rule_set_version)
    for name in ("registered_hospital_id", "treating_hospital_id"):
        wanted = getattr(request, name)
        if wanted is not None and wanted not in ctx.hospitals.by_id:
            raise InvalidInput.field(f"body.{name}", f"unknown hospital {wanted!r}")
    flags = request.flags.model_dump(exclude={"isolation", "has_certificate", "referred_by"})
    referred_by = request.referred_by or request.flags.referred_by
    check_referrer(ctx.places, referred_by)
    zone = None
    if request.zone_status is not None:
        zone = ZoneMatch(name="what-if", status=request.zone_status)
    patient = PatientFacts(
        lat=request.lat, lon=request.lon, severity=request.severity, category=request.category,
        infection_status=request.infection_status,
        isolation=request.isolation or request.flags.isolation,
        has_certificate=request.has_certificate or request.flags.has_certificate,
        registered_hospital_id=request.registered_hospital_id,
        treating_hospital_id=request.treating_hospital_id, referred_by=referred_by,
        flags=flags, triage=request.triage, zone=zone,
    )
    return evaluate(patient, ctx)


def check_referrer(places: PlaceSnapshot | None, place_id: str | None) -> None:
    """A referral upward names a known community health centre (000 二(二))."""
    if place_id is None:
        return
    place = places.by_id.get(place_id) if places is not None else None
    if place is None:
        raise InvalidInput.field("body.referred_by", f"no place {place_id!r}")
    if place.kind != PlaceKind.COMMUNITY_HEALTH_CENTRE:
        raise InvalidInput.field("body.referred_by", f"{place_id!r} is a {place.kind}, not a "
                                 "community health centre: only centres refer upward")


def patient_of(incident: Incident, zone: ZoneMatch) -> PatientFacts:
    """The facts routing needs, read from an incident as the call-taker recorded it."""
    flags = dict(incident.flags or {})
    extra = {k: v for k, v in flags.items()
             if k not in KNOWN_FLAGS and isinstance(v, bool | int | float | str)}
    try:
        return PatientFacts(
            lat=incident.lat, lon=incident.lon, severity=incident.severity,
            category=incident.category, infection_status=incident.infection_status,
            isolation=bool(flags.get("isolation", False)),
            has_certificate=bool(flags.get("has_certificate", False)),
            registered_hospital_id=incident.registered_hospital_id
            or flags.get("registered_hospital_id"),
            treating_hospital_id=incident.treating_hospital_id or flags.get("treating_hospital_id"),
            referred_by=flags.get("referred_by") or None, flags=extra, zone=zone,
            triage=Triage.model_validate(incident.triage) if incident.triage else None,
        )
    except ValidationError as error:
        fields = ", ".join(e["field"] for e in validation_errors(error.errors()))
        raise NotRoutable(f"incident {incident.id} has invalid field(s): {fields}") from None


async def decide_for_incident(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, actor: str
) -> RoutingDecision:
    """Decide where and how the incident's patient goes, record it with the rule-set version."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.lat is None or incident.lon is None:
        raise NotRoutable(f"incident {incident_id} has no location yet (lat/lon)")
    at = rt.clock.now()
    ctx, zones = await routing_context(rt=rt, session=session, at=at)
    zone = zones.lookup(incident.lat, incident.lon, at)
    decision = evaluate(patient_of(incident, zone), ctx)
    row = decision_row(decision, incident_id=incident.id, at=at, actor=actor)
    session.add(row)
    incident.zone_id, incident.zone_status = zone.id, zone.status.value
    incident.sub_district_id = zones.sub_district(incident.lat, incident.lon, zone)
    incident.updated_at = at
    event = rt.bus.event("routing.decided", event_data(row, decision),
                         scope=Scope(console=True, area=incident.sub_district_id))
    await session.flush()
    await session.commit()
    await rt.bus.publish(event)
    return row


def decision_row(decision: Decision, *, incident_id: uuid.UUID, at: datetime,
                 actor: str) -> RoutingDecision:
    """The decision as recorded (not added to any session)."""
    return RoutingDecision(
        id=uuid.uuid4(), incident_id=incident_id, rule_set_version=decision.rule_set_version,
        decided_at=at, decided_by=actor[:64], outcome=decision.outcome.value,
        destination_hospital_id=decision.destination.hospital_id if decision.destination else None,
        transport_mode=decision.transport_mode.value,
        required_capabilities=[c.value for c in decision.required_unit_capabilities],
        decision=decision.model_dump(mode="json"), matched_rules=[m.id for m in decision.matched_rules],
    )


INSERT_DECISION = prebuilt(insert(table(RoutingDecision)))
DECISION_COLUMNS = tuple(c.name for c in table(RoutingDecision).columns)


async def record(session: AsyncSession, row: RoutingDecision) -> None:
    """Write a decision made in this unit of work (one prebuilt INSERT)."""
    await session.execute(INSERT_DECISION, {name: getattr(row, name) for name in DECISION_COLUMNS})


def event_data(row: RoutingDecision, decision: Decision) -> dict[str, Any]:
    return {
        "decision_id": str(row.id), "incident_id": str(row.incident_id),
        "rule_set_version": row.rule_set_version, "outcome": row.outcome,
        "destination": decision.destination.model_dump(mode="json") if decision.destination else None,
        "referral": decision.referral.model_dump(mode="json") if decision.referral else None,
        "transport_mode": row.transport_mode, "required_unit_capabilities": row.required_capabilities,
        "closed_loop": decision.closed_loop, "paperwork": decision.paperwork,
        "zone": decision.zone.model_dump(mode="json"), "matched_rules": row.matched_rules,
    }


async def decisions_for_incident(
    *, session: AsyncSession, incident_id: uuid.UUID
) -> list[RoutingDecision]:
    """Every routing decision made for an incident, oldest first."""
    query = (select(RoutingDecision).where(RoutingDecision.incident_id == incident_id)
             .order_by(RoutingDecision.decided_at, RoutingDecision.id))
    return list((await session.scalars(query)).all())
