"""Hospital HTTP routes."""

from __future__ import annotations

from fastapi import Response, status

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import CONFIGURERS, hospital_actors_only, readers_only
from dispatch.auth.schemas import Role
from dispatch.db import SessionDep
from dispatch.errors import Forbidden
from dispatch.hospitals import service
from dispatch.hospitals.schemas import OWN_FIELDS, HospitalCreate, HospitalOut, HospitalUpdate
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep

router = DomainRouter(prefix="/api/v1", tags=["hospitals"])


@router.get("/hospitals", response_model=list[HospitalOut], dependencies=[readers_only])
async def list_hospitals(session: SessionDep, principal: CurrentPrincipal) -> list[HospitalOut]:
    """List hospitals with their capabilities, designations and status."""
    return [HospitalOut.model_validate(h) for h in await service.list_hospitals(session=session)]


@router.post("/hospitals", response_model=HospitalOut, status_code=status.HTTP_201_CREATED,
             dependencies=[allow(*CONFIGURERS)])
async def create_hospital(
    body: HospitalCreate, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> HospitalOut:
    """Add a hospital."""
    hospital = await service.create_hospital(session=session, rt=rt, data=body, actor=actor)
    return HospitalOut.model_validate(hospital)


@router.get("/hospitals/{hospital_id}", response_model=HospitalOut, dependencies=[readers_only])
async def get_hospital(
    hospital_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HospitalOut:
    """Get one hospital."""
    return HospitalOut.model_validate(
        await service.get_hospital(session=session, hospital_id=hospital_id)
    )


@router.patch("/hospitals/{hospital_id}", response_model=HospitalOut,
               dependencies=[hospital_actors_only])
async def update_hospital(
    hospital_id: str, body: HospitalUpdate, session: SessionDep, rt: RuntimeDep,
    principal: CurrentPrincipal, actor: ActorDep,
) -> HospitalOut:
    """Change a hospital: suspend or reopen it, mark it full for a category, edit its details."""
    own_fields = (principal.has(Role.HOSPITAL) and principal.hospital_id == hospital_id
                  and body.model_fields_set <= OWN_FIELDS)
    if not own_fields and not principal.has(*CONFIGURERS):
        raise Forbidden("changing a hospital needs a supervisor or administrator; a hospital's "
                        "own terminal may report only its full categories (never its status)")
    hospital = await service.update_hospital(session=session, rt=rt, hospital_id=hospital_id,
                                             changes=body, actor=actor)
    return HospitalOut.model_validate(hospital)


@router.delete("/hospitals/{hospital_id}", status_code=status.HTTP_204_NO_CONTENT,
               dependencies=[allow(*CONFIGURERS)])
async def delete_hospital(
    hospital_id: str, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> Response:
    """Remove a hospital that no incident refers to."""
    await service.delete_hospital(session=session, rt=rt, hospital_id=hospital_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
