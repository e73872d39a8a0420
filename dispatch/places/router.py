"""Community care place HTTP routes: list, read, open/close, plan temporary medical points."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import CONFIGURERS, readers_only
from dispatch.db import SessionDep
from dispatch.places import medical_points, service
from dispatch.places.enums import PlaceKind, PlaceStatus
from dispatch.places.schemas import (
    MedicalPointPlanIn,
    MedicalPointPlanOut,
    PlaceOut,
    PlaceStatusChange,
)
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep

router = DomainRouter(prefix="/api/v1/places", tags=["places"])


@router.get("", response_model=list[PlaceOut], dependencies=[readers_only])
async def list_places(
    session: SessionDep, principal: CurrentPrincipal,
    kind: Annotated[PlaceKind | None, Query(description="only places of this kind")] = None,
    status: Annotated[PlaceStatus | None, Query()] = None,
    zone_id: Annotated[str | None, Query(max_length=64,
                                         description="only places serving this zone")] = None,
) -> list[PlaceOut]:
    """List fever clinics, community health centres, night clinics, oxygen stations, teams and points."""
    places = await service.list_places(session=session, kind=kind, status=status, zone_id=zone_id)
    return [PlaceOut.model_validate(p) for p in places]


@router.post("/medical-points/plan", response_model=MedicalPointPlanOut,
             dependencies=[allow(*CONFIGURERS)])
async def plan_medical_points(
    body: MedicalPointPlanIn, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> MedicalPointPlanOut:
    """Add the temporary medical points a sealed or controlled zone lacks: one per 10,000 people."""
    plan = await medical_points.plan_and_commit(session=session, rt=rt, zone_id=body.zone_id,
                                                actor=actor, population=body.population)
    return MedicalPointPlanOut(
        zone_id=plan.zone.id, zone_status=plan.zone.status, population=plan.population,
        population_estimated=plan.population_estimated, people_per_point=plan.people_per_point,
        needed=plan.needed, existing=plan.existing, created=plan.created,
        units_created=[u.id for u in plan.units],
    )


@router.get("/{place_id}", response_model=PlaceOut, dependencies=[readers_only])
async def get_place(place_id: str, session: SessionDep, principal: CurrentPrincipal) -> PlaceOut:
    """Get one place: where, phone, hours, status."""
    return PlaceOut.model_validate(await service.get_place(session=session, place_id=place_id))


@router.put("/{place_id}/status", response_model=PlaceOut,
            dependencies=[allow(*CONFIGURERS)])
async def set_place_status(
    place_id: str, body: PlaceStatusChange, session: SessionDep, rt: RuntimeDep,
    principal: CurrentPrincipal, actor: ActorDep,
) -> PlaceOut:
    """Open or close a place; later decisions on every instance follow at once."""
    place = await service.set_status(session=session, rt=rt, place_id=place_id, status=body.status,
                                     reason=body.reason, actor=actor)
    return PlaceOut.model_validate(place)
