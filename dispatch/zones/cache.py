"""This process's zone index (every lookup reads it), reloaded when any instance changes a zone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.runtime import Runtime
from dispatch.zones.enums import ZoneStatus
from dispatch.zones.index import IndexedZone, SubDistrictDisc, ZoneIndex
from dispatch.zones.models import SubDistrict, Zone


async def load_index(session: AsyncSession) -> ZoneIndex:
    """Build the lookup index from every zone not deleted (in force or not) and the
    sub-districts (a scenario load, which alone writes them, moves the zones counter too)."""
    zones = (await session.scalars(select(Zone).where(Zone.deleted.is_(False)))).all()
    areas = (await session.scalars(select(SubDistrict))).all()
    return ZoneIndex(
        (IndexedZone(id=z.id, name=z.name, status=ZoneStatus(z.status),
                     sub_district=z.sub_district_id, community=z.community,
                     valid_from=z.valid_from, valid_to=z.valid_to, geometry=z.geometry,
                     name_zh=z.name_zh)
         for z in zones),
        (SubDistrictDisc(id=a.id, lat=a.lat, lon=a.lon, radius_km=a.radius_km) for a in areas),
    )


def index_cache(rt: Runtime) -> versions.VersionedCache[ZoneIndex]:
    return versions.cache_of(rt, "zones", versions.ZONES, load_index)


async def zone_index(*, rt: Runtime, session: AsyncSession | None = None) -> ZoneIndex:
    """This process's zone index, reloaded if any instance changed a zone since."""
    return await index_cache(rt).get(rt, session=session)

