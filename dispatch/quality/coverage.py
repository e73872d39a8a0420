"""Coverage now: the share of the population an available ambulance can reach within the service
radius (national guidance: 5 km in towns, 10-20 km in the countryside), and the fleet's mix.

Each sub-district's population is spread evenly over a disc (its centre and `radius_km`, as the
scenario gives them) sampled on a grid; a sample point is covered when an available ambulance
stands within the radius of it (straight line).
"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.fleet import service as fleet_service
from dispatch.fleet.enums import UnitCapability, UnitStatus
from dispatch.quality.schemas import AreaCover, CoverageOut
from dispatch.runtime import Runtime
from dispatch.travel import haversine_km, moved
from dispatch.zones.models import SubDistrict

NEGATIVE_PRESSURE_TARGET = 0.40
GRID = 4  # sample points every radius/GRID across the disc (49 points)


def disc(lat: float, lon: float, radius_km: float) -> list[tuple[float, float]]:
    """Evenly spaced points over a disc."""
    step = radius_km / GRID
    points = []
    for i in range(-GRID, GRID + 1):
        for j in range(-GRID, GRID + 1):
            north, east = i * step, j * step
            if math.hypot(north, east) <= radius_km + 1e-9:
                points.append(moved(lat, lon, north, east))
    return points


def share(value: float) -> float:
    return round(value, 4)


async def coverage(*, session: AsyncSession, rt: Runtime) -> CoverageOut:
    """Who the available ambulances can reach now, and the negative-pressure share."""
    settings = rt.settings
    rows = [r for r in await fleet_service.live(rt).board() if r.get("active") == "1"]
    ambulances = [r for r in rows if UnitCapability.AMBULANCE in r.get("caps", "").split(",")]
    available = [r for r in ambulances if r["status"] == UnitStatus.AVAILABLE and r.get("lat")]
    where = [(float(r["lat"]), float(r["lon"])) for r in available]
    rural = set(settings.rural_sub_districts)
    areas = []
    for sd in (await session.scalars(select(SubDistrict).order_by(SubDistrict.id))).all():
        radius = settings.coverage_rural_radius_km if sd.id in rural else settings.coverage_urban_radius_km
        points = disc(sd.lat, sd.lon, sd.radius_km)
        covered = sum(1 for lat, lon in points
                      if any(haversine_km(lat, lon, ulat, ulon) <= radius for ulat, ulon in where))
        part = covered / len(points)
        areas.append(AreaCover(sub_district_id=sd.id, name=sd.name_zh or sd.name, name_en=sd.name,
                               population=sd.population,
                               radius_km=radius, covered_share=share(part), out_of_cover=part < 0.5))
    people = sum(a.population for a in areas)
    reached = round(sum(a.population * a.covered_share for a in areas))

    def negative(units: list[dict[str, str]]) -> int:
        return sum(1 for r in units if UnitCapability.NEGATIVE_PRESSURE in r.get("caps", "").split(","))

    out = CoverageOut(
        at=rt.clock.now(), population=people, covered_population=reached,
        covered_share=share(reached / people) if people else None, areas=areas,
        out_of_cover=[a.sub_district_id for a in areas if a.out_of_cover],
        ambulances=len(ambulances), negative_pressure=negative(ambulances),
        negative_pressure_share=share(negative(ambulances) / len(ambulances)) if ambulances else None,
        available=len(available), available_negative_pressure=negative(available),
        available_negative_pressure_share=share(negative(available) / len(available)) if available else None,
        negative_pressure_target=NEGATIVE_PRESSURE_TARGET,
    )
    gauge = rt.metrics.quality
    for key, value in (("coverage_population", out.covered_share),
                       ("negative_pressure_fleet", out.negative_pressure_share),
                       ("negative_pressure_available", out.available_negative_pressure_share)):
        if value is not None:
            gauge.labels(key, "now").set(value)
    return out
