"""Hospital HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.auth.dependencies import CurrentPrincipal
from dispatch.db import SessionDep
from dispatch.hospitals import service
from dispatch.hospitals.schemas import HospitalOut

router = APIRouter(prefix="/api/v1", tags=["hospitals"])


@router.get("/hospitals", response_model=list[HospitalOut])
async def list_hospitals(session: SessionDep, principal: CurrentPrincipal) -> list[HospitalOut]:
    """List hospitals with their capabilities, designations and status."""
    return [HospitalOut.model_validate(h) for h in await service.list_hospitals(session=session)]
