"""Liveness, readiness, metrics and the loaded scenario."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from dispatch import migrate
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import SUPERVISORS, readers_only
from dispatch.db import SessionDep
from dispatch.errors import NotFound, problem_response
from dispatch.livestate import rebuild
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.scenarios import service as scenario_service

router = DomainRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Tell that the process is alive."""
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"description": "not ready, with the reasons"}})
async def readyz(rt: RuntimeDep) -> Response:
    """Tell whether the database and Redis are reachable and migrations are at head."""
    checks: dict[str, str] = {}
    problems: list[str] = []
    try:
        async with asyncio.timeout(3), rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            revision = await migrate.current_revision(connection)
        checks["database"] = "ok"
        head = migrate.head_revision()
        if revision == head:
            checks["migrations"] = "head"
        else:
            checks["migrations"] = f"at {revision or 'none'}, head is {head}"
            problems.append(f"database schema is not at head ({revision or 'none'} != {head}): "
                            "run `dispatch migrate`")
    except Exception as error:
        checks["database"] = "unreachable"
        problems.append(f"database unreachable ({type(error).__name__})")
    try:
        async with asyncio.timeout(2):
            await rt.redis.ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = "unreachable"
        problems.append(f"redis unreachable ({type(error).__name__})")
    if problems:
        return problem_response({
            "type": "/problems/not-ready", "title": "Not ready", "status": 503,
            "detail": "; ".join(problems), "checks": checks,
        })
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
async def metrics(rt: RuntimeDep) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/scenario", dependencies=[readers_only])
async def scenario(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The loaded scenario: name, title and map centre."""
    info = await scenario_service.current_scenario(session=session)
    if info is None:
        raise NotFound("no scenario is loaded: run `dispatch scenario load FILE`")
    return {
        "name": info.name, "title": info.title, "loaded_at": info.loaded_at,
        "centre": {"lat": info.centre_lat, "lon": info.centre_lon}, **info.meta,
    }


@router.get("/api/v1/console/config", dependencies=[readers_only])
async def console_config(
    request: Request, rt: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """What the web apps need before they draw: map centre and tiles, answer targets, features."""
    info = await scenario_service.current_scenario(session=session)
    # The OpenAPI paths (built once, then cached): included routers no longer list their routes
    # in `app.routes`.
    routes = set(request.app.openapi().get("paths", {}))
    return {
        "centre": {"lat": info.centre_lat, "lon": info.centre_lon} if info else {"lat": 0, "lon": 0},
        "zoom": 11 if info else 2,
        "scenario": info.title if info else None,
        "tiles_url": rt.settings.map_tiles_url,
        "tiles_attribution": rt.settings.map_tiles_attribution,
        "streets_url": rt.settings.map_streets_url,
        "answer_target_seconds": rt.settings.answer_target_seconds,
        "escalation_seconds": rt.settings.escalation_seconds,
        "handover_target_minutes": rt.settings.handover_target_minutes,
        "stale_position_seconds": rt.settings.stale_position_seconds,
        "features": {"handovers": "/api/v1/handovers" in routes,
                     "fleet": "/api/v1/assignments" in routes},
    }


@router.post("/api/v1/admin/rebuild-live-state", dependencies=[allow(*SUPERVISORS)])
async def rebuild_live_state(rt: RuntimeDep) -> dict[str, Any]:
    """Rebuild Redis live state (units, ringing calls) from PostgreSQL now."""
    await rebuild(rt, rt.rebuilders, force=True)
    return {"rebuilt": True}
