"""Zone HTTP routes: CRUD, GeoJSON import/export, revisions and point lookup."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, status
from fastapi.responses import JSONResponse

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import CONFIGURERS, readers_only
from dispatch.db import SessionDep
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.schemas import Moment
from dispatch.zones import service
from dispatch.zones.index import ZoneMatch
from dispatch.zones.schemas import (
    FeatureCollection,
    ImportResult,
    ZoneCreate,
    ZoneOut,
    ZoneRevisionOut,
    ZoneUpdate,
)

router = DomainRouter(prefix="/api/v1/zones", tags=["zones"])

At = Annotated[Moment | None, Query(description="Time in force (default: now)")]


@router.get("", response_model=list[ZoneOut], dependencies=[readers_only])
async def list_zones(
    session: SessionDep, principal: CurrentPrincipal, at: At = None,
    include_deleted: bool = False,
) -> list[ZoneOut]:
    """List zones; with `at`, only those in force then."""
    zones = await service.list_zones(session=session, at=at, include_deleted=include_deleted)
    return [service.zone_out(z) for z in zones]


@router.post("", response_model=ZoneOut, status_code=status.HTTP_201_CREATED,
             dependencies=[allow(*CONFIGURERS)])
async def create_zone(
    body: ZoneCreate, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> ZoneOut:
    """Create a zone; it applies to the next routing decision on every instance."""
    zone = await service.create_zone(session=session, rt=rt, data=body, actor=actor)
    return service.zone_out(zone)


@router.get("/export", response_class=JSONResponse, dependencies=[readers_only], responses={
    200: {"description": "A GeoJSON FeatureCollection",
          "content": {"application/geo+json": {"schema": {"type": "object"}}}}})
async def export_zones(
    session: SessionDep, principal: CurrentPrincipal, at: At = None
) -> JSONResponse:
    """Export zones as a GeoJSON FeatureCollection (import accepts the same file)."""
    body = await service.export_geojson(session=session, at=at)
    return JSONResponse(body, media_type="application/geo+json")


@router.post("/import", response_model=ImportResult,
             dependencies=[allow(*CONFIGURERS)])
async def import_zones(
    body: FeatureCollection, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep, replace: bool = False,
) -> ImportResult:
    """Create or update one zone per feature, all or nothing; `replace` deletes zones not listed."""
    return await service.import_geojson(session=session, rt=rt, collection=body, actor=actor,
                                        replace=replace)


@router.get("/lookup", response_model=ZoneMatch, dependencies=[readers_only])
async def lookup_zone(
    rt: RuntimeDep, principal: CurrentPrincipal,
    lat: Annotated[float, Query(ge=-90, le=90)], lon: Annotated[float, Query(ge=-180, le=180)],
    at: At = None,
) -> ZoneMatch:
    """The zone in force at a point (the strictest where zones overlap)."""
    return await service.lookup(rt=rt, lat=lat, lon=lon, at=at or rt.clock.now())


@router.get("/{zone_id}", response_model=ZoneOut, dependencies=[readers_only])
async def get_zone(zone_id: str, session: SessionDep, principal: CurrentPrincipal) -> ZoneOut:
    """Get one zone."""
    return service.zone_out(await service.get_zone(session=session, zone_id=zone_id))


@router.patch("/{zone_id}", response_model=ZoneOut,
              dependencies=[allow(*CONFIGURERS)])
async def update_zone(
    zone_id: str, body: ZoneUpdate, session: SessionDep, rt: RuntimeDep,
    principal: CurrentPrincipal, actor: ActorDep,
) -> ZoneOut:
    """Change a zone's status, shape, name or validity window (a new version)."""
    zone = await service.update_zone(session=session, rt=rt, zone_id=zone_id, changes=body,
                                     actor=actor)
    return service.zone_out(zone)


@router.delete("/{zone_id}", response_model=ZoneOut,
               dependencies=[allow(*CONFIGURERS)])
async def delete_zone(
    zone_id: str, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> ZoneOut:
    """Withdraw a zone; its history is kept."""
    zone = await service.delete_zone(session=session, rt=rt, zone_id=zone_id, actor=actor)
    return service.zone_out(zone)


@router.get("/{zone_id}/revisions", response_model=list[ZoneRevisionOut], dependencies=[readers_only])
async def zone_revisions(
    zone_id: str, session: SessionDep, principal: CurrentPrincipal
) -> list[Any]:
    """Every saved version of a zone, oldest first."""
    return [ZoneRevisionOut.model_validate(r)
            for r in await service.revisions(session=session, zone_id=zone_id)]
