"""Temporary medical points (临时医疗点): one per 10,000 people in a sealed or controlled zone (003).

Each point has a GP, a nurse and a vehicle on duty around the clock (003), so each becomes a
place (what callers and the console see) and a `medical_point_team` unit with the `home_visit`
capability (what the fleet dispatches). Points are planned for a zone when a scenario is
loaded, and again by a supervisor when a zone is sealed later; planning only ever adds the
points still missing, since closing a staffed point is a decision for a person.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import box, shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.schemas import Actor
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.fleet.enums import UnitCapability, UnitKind, UnitStatus
from dispatch.fleet.livestate import write_units
from dispatch.fleet.models import Unit
from dispatch.places import service as places_service
from dispatch.places.enums import PlaceKind, PlaceService
from dispatch.places.models import Place
from dispatch.places.schemas import MAX_ZONE_POPULATION
from dispatch.places.snapshot import km
from dispatch.runtime import Runtime
from dispatch.travel import KM_PER_DEGREE
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.models import SubDistrict, Zone

PEOPLE_PER_POINT = 10_000  # 003: 每10000人设置1个临时医疗点
SERVED_STATUSES = frozenset({ZoneStatus.SEALED.value, ZoneStatus.CONTROLLED.value})


@dataclass
class Plan:
    zone: Zone
    population: int
    population_estimated: bool
    people_per_point: int
    needed: int
    existing: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)


def area_km2(geometry: dict[str, Any]) -> float:
    """Area of a GeoJSON polygon, projected at its own latitude (good to a few per cent)."""
    shp = shape(geometry)
    lat = shp.centroid.y
    scaled = shapely.transform(shp, lambda xy: xy * [KM_PER_DEGREE * math.cos(math.radians(lat)),
                                                      KM_PER_DEGREE])
    return float(scaled.area)


def home_sub_district(zone: Zone, sub_districts: list[SubDistrict]) -> SubDistrict | None:
    """The zone's own sub-district, else the one whose centre is nearest the zone's centre."""
    by_id = {s.id: s for s in sub_districts}
    if zone.sub_district_id in by_id:
        return by_id[zone.sub_district_id]
    if not sub_districts:
        return None
    centre = shape(zone.geometry).centroid
    return min(sub_districts, key=lambda s: (km(centre.y, centre.x, s.lat, s.lon), s.id))


def estimate_population(zone: Zone, sub_district: SubDistrict) -> int:
    """People in the zone at its sub-district's mean density, at most the whole sub-district."""
    density = sub_district.population / (math.pi * sub_district.radius_km ** 2)
    return max(1, min(sub_district.population, round(area_km2(zone.geometry) * density)))


def points_needed(population: int, per: int = PEOPLE_PER_POINT) -> int:
    return max(1, math.ceil(population / per))


def spread(geometry: dict[str, Any], n: int) -> list[tuple[float, float]]:
    """`n` (lat, lon) points inside the polygon, one per west-to-east strip of it."""
    polygon = shape(geometry)
    minx, miny, maxx, maxy = polygon.bounds
    width = (maxx - minx) / n
    out = []
    for i in range(n):
        part = polygon.intersection(box(minx + i * width, miny, minx + (i + 1) * width, maxy))
        point = (part if not part.is_empty else polygon).representative_point()
        out.append((round(point.y, 6), round(point.x, 6)))
    return out


def _ids(zone_id: str, k: int) -> tuple[str, str]:
    place_id, unit_id = f"tmp-{zone_id}-{k}", f"MP-{zone_id}-{k}"
    digest = hashlib.sha1(zone_id.encode(), usedforsecurity=False).hexdigest()[:10]
    if len(place_id) > 64:
        place_id = f"tmp-{digest}-{k}"
    if len(unit_id) > 32:
        unit_id = f"MP-{digest}-{k}"
    return place_id, unit_id


async def plan(
    session: AsyncSession, *, zone_id: str, actor: Actor, at: datetime,
    population: int | None = None, per: int = PEOPLE_PER_POINT, approximate: bool = True,
) -> Plan:
    """Add the temporary medical points (and their units) a zone still lacks. Does not commit."""
    zone = await session.get(Zone, zone_id)
    if zone is None or zone.deleted:
        raise NotFound(f"no zone {zone_id!r}")
    if zone.status not in SERVED_STATUSES:
        raise Conflict(f"zone {zone_id!r} is {zone.status}: temporary medical points serve sealed "
                       "and controlled zones (003)", zone_status=zone.status)
    estimated = population is None
    sub_district = home_sub_district(zone, list((await session.scalars(select(SubDistrict))).all()))
    if population is None:
        if sub_district is None:
            raise InvalidInput.field("body.population", "no sub-district to estimate the zone's "
                                                         "population from: give it")
        population = min(estimate_population(zone, sub_district), MAX_ZONE_POPULATION)
    result = Plan(zone=zone, population=population, population_estimated=estimated,
                  people_per_point=per, needed=points_needed(population, per))
    existing = (await session.scalars(select(Place).where(
        Place.kind == PlaceKind.TEMPORARY_MEDICAL_POINT.value, Place.served_zone_id == zone_id)
        .order_by(Place.id))).all()
    result.existing = [p.id for p in existing]
    missing = result.needed - len(existing)
    if missing <= 0:
        return result
    taken = {p.id for p in existing}
    locations = spread(zone.geometry, result.needed)[len(existing):]
    k = 0
    for lat, lon in locations:
        k += 1
        place_id, unit_id = _ids(zone_id, k)
        while place_id in taken or await session.get(Place, place_id) is not None:
            k += 1
            place_id, unit_id = _ids(zone_id, k)
        await _add_point(session, result, place_id=place_id, unit_id=unit_id, k=k, lat=lat,
                         lon=lon, approximate=approximate, actor=actor, at=at)
    return result


async def _add_point(
    session: AsyncSession, result: Plan, *, place_id: str, unit_id: str, k: int, lat: float,
    lon: float, approximate: bool, actor: Actor, at: datetime,
) -> None:
    zone = result.zone
    unit = await session.get(Unit, unit_id)
    if unit is None:
        unit = Unit(id=unit_id, status=UnitStatus.AVAILABLE, status_at=at, active=True,
                    infectious_load=False, crew=[])
    unit.call_sign = f"临时医疗点 {zone.name_zh or zone.name} {k}"[:64]
    unit.kind = UnitKind.MEDICAL_POINT_TEAM.value
    unit.capabilities = [UnitCapability.HOME_VISIT.value]
    unit.lat, unit.lon, unit.position_at, unit.post_id = lat, lon, at, None
    session.add(unit)
    await places_service.apply_place(session, {
        "id": place_id, "kind": PlaceKind.TEMPORARY_MEDICAL_POINT.value,
        "name": f"Temporary medical point {k}, {zone.name}",
        "name_zh": f"临时医疗点{k}（{zone.name_zh or zone.name}）",
        "lat": lat, "lon": lon, "location_approximate": approximate, "hours": "24h",
        "services": [PlaceService.HOME_VISIT.value, PlaceService.LONG_PRESCRIPTION.value],
        "served_zone_id": zone.id, "population_served": result.people_per_point,
        "unit_id": unit_id, "source": "003 (每10000人设置1个临时医疗点)",
        "notes": "1 GP, 1 nurse and a dedicated vehicle on duty 24 hours (003); placed inside the "
                 "zone by the hub, move it to where it really is",
    }, actor=actor, at=at)
    result.created.append(place_id)
    result.units.append(unit)


async def plan_and_commit(
    *, session: AsyncSession, rt: Runtime, zone_id: str, actor: Actor,
    population: int | None = None,
) -> Plan:
    """Plan a zone's points now (a supervisor, once the zone is sealed), commit, go live."""
    result = await plan(session, zone_id=zone_id, actor=actor, at=rt.clock.now(),
                        population=population)
    await session.commit()
    if result.units:
        await write_units(rt.redis, rt.keys, result.units, {})
    await places_service.changed(rt, [{"id": p, "kind": PlaceKind.TEMPORARY_MEDICAL_POINT.value,
                                       "action": "place.created"} for p in result.created])
    return result
