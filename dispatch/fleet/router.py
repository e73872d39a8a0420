"""Fleet HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.auth.dependencies import CurrentPrincipal
from dispatch.auth.permissions import readers_only
from dispatch.db import SessionDep
from dispatch.fleet import service
from dispatch.fleet.schemas import PostOut, UnitOut
from dispatch.runtime import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["fleet"], dependencies=[readers_only])


@router.get("/units", response_model=list[UnitOut])
async def list_units(rt: RuntimeDep, principal: CurrentPrincipal) -> list[UnitOut]:
    """List units with their live status and position."""
    now_ms = int(rt.clock.now().timestamp() * 1000)
    stale_ms = int(rt.settings.stale_position_seconds * 1000)
    return await service.list_units(
        redis=rt.redis, keys=rt.keys, now_ms=now_ms, stale_after_ms=stale_ms
    )


@router.get("/posts", response_model=list[PostOut])
async def list_posts(session: SessionDep, principal: CurrentPrincipal) -> list[PostOut]:
    """List ambulance posts and the sub-districts they cover."""
    return await service.list_posts(session=session)
