"""This process's snapshot of the places (medical points, community centres), reloaded when
any instance changes a place."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.places.models import Place
from dispatch.places.snapshot import PLACES, Area, PlaceSnapshot, PlaceView
from dispatch.runtime import Runtime
from dispatch.zones.models import SubDistrict


async def load_snapshot(session: AsyncSession) -> PlaceSnapshot:
    """Read every place, with the sub-districts teams serve, into an immutable snapshot."""
    areas = {s.id: Area(sub_district_id=s.id, lat=s.lat, lon=s.lon, radius_km=s.radius_km)
             for s in (await session.scalars(select(SubDistrict))).all()}
    places = (await session.scalars(select(Place))).all()
    return PlaceSnapshot.build(PlaceView.of(p, areas) for p in places)


def snapshot_cache(rt: Runtime) -> versions.VersionedCache[PlaceSnapshot]:
    return versions.cache_of(rt, "places", PLACES, load_snapshot)


async def place_snapshot(*, rt: Runtime, session: AsyncSession | None = None) -> PlaceSnapshot:
    """This process's place snapshot, reloaded if any instance changed a place since."""
    return await snapshot_cache(rt).get(rt, session=session)

