"""Load a scenario (an area: sub-districts, zones, hospitals, places, posts, units and call-taker
positions) into every domain's tables and the fleet's live state, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit.schemas import Actor
from dispatch.calls.models import Position
from dispatch.fleet.enums import UnitStatus
from dispatch.fleet.livestate import write_units
from dispatch.fleet.models import Post, Unit
from dispatch.hospitals.models import Hospital
from dispatch.places import medical_points
from dispatch.places import service as places_service
from dispatch.places.enums import PlaceKind
from dispatch.places.snapshot import PLACES
from dispatch.redis import Keys
from dispatch.scenarios.models import ScenarioInfo
from dispatch.scenarios.schemas import PlaceIn, Scenario, ScenarioSummary
from dispatch.zones import service as zones_service
from dispatch.zones.models import SubDistrict


async def load_scenario(
    *,
    session: AsyncSession,
    redis: Redis,
    keys: Keys,
    scenario: Scenario,
    checksum: str,
    now: datetime,
    actor: str = "scenario-loader",
) -> ScenarioSummary:
    """Insert or update every entity of the scenario, then refresh the units' live state."""
    for sd in scenario.sub_districts:
        await session.merge(SubDistrict(
            id=sd.id, name=sd.name, name_zh=sd.name_zh, population=sd.population,
            lat=sd.location.lat, lon=sd.location.lon, radius_km=sd.radius_km,
            location_approximate=scenario.coordinates_approximate,
        ))
    for h in scenario.hospitals:
        existing = await session.get(Hospital, h.id)
        hospital = existing or Hospital(id=h.id)
        hospital.name, hospital.name_zh = h.name, h.name_zh
        hospital.lat, hospital.lon = h.location.lat, h.location.lon
        hospital.location_approximate = scenario.coordinates_approximate
        hospital.level = h.level
        hospital.capabilities = [c.value for c in h.capabilities]
        hospital.designations = [d.value for d in h.designations]
        hospital.phone, hospital.notes = h.phone, h.notes
        if existing is None or existing.status != h.status:
            hospital.status = h.status.value
            hospital.status_reason = h.status_reason
            hospital.status_changed_at = now
        hospital.full_categories = hospital.full_categories or []
        session.add(hospital)
    await session.flush()
    for p in scenario.posts:
        await session.merge(Post(
            id=p.id, name=p.name, name_zh=p.name_zh, lat=p.location.lat, lon=p.location.lon,
            location_approximate=scenario.coordinates_approximate,
            sub_district_ids=list(p.sub_districts), crews=p.crews,
            paired_hospital_id=p.paired_hospital,
        ))
    await session.flush()
    posts = {p.id: p for p in (await session.scalars(select(Post))).all()}
    units = []
    for u in scenario.units:
        unit = await session.get(Unit, u.id)
        if unit is None:
            post = posts[u.post]
            unit = Unit(id=u.id, status=UnitStatus.AVAILABLE, status_at=now,
                        lat=post.lat, lon=post.lon, position_at=now, active=True,
                        infectious_load=False)
        unit.call_sign, unit.kind = u.call_sign, u.kind.value
        unit.capabilities = [c.value for c in u.capabilities]
        unit.post_id, unit.crew = u.post, list(u.crew)
        session.add(unit)
        units.append(unit)
    for pos in scenario.positions:
        await session.merge(Position(id=pos.id, name=pos.name, name_zh=pos.name_zh,
                                     supervisor=pos.supervisor))
    who = Actor(name=actor, source=f"scenario:{scenario.name}"[:64])
    for z in scenario.zones:
        await zones_service.apply_zone(session, z, actor=who, at=now)
    for place in scenario.places:
        values = _place_values(place, posts, approximate=scenario.coordinates_approximate)
        await places_service.apply_place(session, values, actor=who, at=now)
    points = 0
    if scenario.medical_points is not None:
        sizing = scenario.medical_points
        for z in scenario.zones:
            if z.status.value not in sizing.zone_statuses:
                continue
            plan = await medical_points.plan(
                session, zone_id=z.id, actor=who, at=now, per=sizing.people_per_point,
                population=sizing.zone_population.get(z.id),
                approximate=scenario.coordinates_approximate)
            units += plan.units
            points += len(plan.created) + len(plan.existing)
    await session.merge(ScenarioInfo(
        name=scenario.name, title=scenario.title, centre_lat=scenario.centre.lat,
        centre_lon=scenario.centre.lon, loaded_at=now, checksum=checksum,
        meta={"description": scenario.description, "sources": scenario.sources,
              "coordinates_approximate": scenario.coordinates_approximate},
    ))
    await session.commit()
    # Every instance reloads zones and hospitals for its next routing decision.
    await versions.bump(redis, keys, versions.ZONES, versions.HOSPITALS, PLACES)
    await write_units(redis, keys, units, posts)
    return ScenarioSummary(
        name=scenario.name, title=scenario.title, sub_districts=len(scenario.sub_districts),
        posts=len(scenario.posts), hospitals=len(scenario.hospitals), units=len(scenario.units),
        positions=len(scenario.positions), zones=len(scenario.zones),
        places=len(scenario.places), medical_points=points,
    )


def _place_values(place: PlaceIn, posts: dict[str, Post], *, approximate: bool) -> dict[str, Any]:
    """A scenario place as the columns of a Place; a place at a post takes its location."""
    post = posts.get(place.post) if place.post else None
    if place.location is not None:
        lat, lon = place.location.lat, place.location.lon
    else:
        assert post is not None  # checked by Scenario.reference_errors
        lat, lon = post.lat, post.lon
    paired = place.paired_hospital
    if paired is None and post is not None and place.kind == PlaceKind.COMMUNITY_HEALTH_CENTRE:
        paired = post.paired_hospital_id
    return {
        "id": place.id, "kind": place.kind.value, "name": place.name, "name_zh": place.name_zh,
        "lat": lat, "lon": lon, "location_approximate": approximate, "address": place.address,
        "phone": place.phone, "hours": place.hours, "timezone": place.timezone,
        "status": place.status.value, "status_reason": place.status_reason,
        "services": [s.value for s in place.services], "paired_hospital_id": paired,
        "parent_id": place.parent, "served_sub_district_ids": list(place.served_sub_districts),
        "served_zone_id": None, "population_served": None, "unit_id": None,
        "source": place.source, "notes": place.notes,
    }

