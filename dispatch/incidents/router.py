"""Incident routes."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Query

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.permissions import ConsoleRequest, console_only, dispatchers_only
from dispatch.db import SessionDep
from dispatch.incidents import service
from dispatch.incidents.schemas import IncidentIn, IncidentOut, IncidentUpdate, LinkCallIn, ReopenIn
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.schemas import Moment
from dispatch.workflows import incident as incident_workflow

router = DomainRouter(prefix="/api/v1", tags=["incidents"])


@router.post("/incidents", response_model=IncidentOut, status_code=201)
async def create_incident(body: IncidentIn, ctx: ConsoleRequest) -> IncidentOut:
    """Record the incident for an answered call."""
    return await incident_workflow.create_incident(session=ctx.session, rt=ctx.rt, body=body,
                                                   actor=ctx.actor)


Status = Literal["open", "dispatched", "closed", "cancelled"]


@router.get("/incidents", response_model=list[IncidentOut], dependencies=[console_only])
async def list_incidents(
    session: SessionDep,
    status: list[Status] = Query(default=[], description="any of these (repeat the parameter)"),
    severity: Literal["critical", "urgent", "non_urgent"] | None = Query(default=None),
    zone_status: Literal["sealed", "controlled", "precaution", "normal"] | None = Query(
        default=None, description="normal: outside every zone"),
    sub_district_id: str | None = Query(default=None, max_length=64, pattern=r"^[^\x00-\x1f]*$",
                                        description="recorded in this sub-district"),
    since: Moment | None = Query(default=None, description="recorded at or after (ISO 8601)"),
    until: Moment | None = Query(default=None, description="recorded before (ISO 8601)"),
    q: str | None = Query(default=None, min_length=2, max_length=64, pattern=r"^[^\x00-\x1f]*$",
                          description="an incident number, a caller's number or words"),
    limit: int = Query(default=100, ge=1, le=500), offset: int = Query(default=0, ge=0, le=100_000),
) -> list[IncidentOut]:
    """Incidents, newest first: the open ones, or today's and earlier ones found by filters."""
    found = await service.list_incidents(
        session=session, status=status, severity=severity, zone_status=zone_status,
        sub_district_id=sub_district_id, since=since, until=until, text=q, limit=limit, offset=offset)
    return await service.incidents_out(session, found)


@router.get("/incidents/{incident_id}", response_model=IncidentOut, dependencies=[console_only])
async def get_incident(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """One incident with its calls."""
    return await service.incident_out(session, await service.find_incident(session, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentOut, dependencies=[console_only])
async def update_incident(
    incident_id: uuid.UUID, body: IncidentUpdate, session: SessionDep, rt: RuntimeDep,
    actor: ActorDep,
) -> IncidentOut:
    """Change some fields of an incident."""
    return await incident_workflow.update_incident(session=session, rt=rt, incident_id=incident_id,
                                         body=body, actor=actor)


@router.post("/incidents/{incident_id}/calls", response_model=IncidentOut,
             dependencies=[console_only])
async def link_call(
    incident_id: uuid.UUID, body: LinkCallIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> IncidentOut:
    """Link a duplicate caller's call to this incident."""
    return await incident_workflow.link_call(session=session, rt=rt, incident_id=incident_id,
                                             call_id=body.call_id, actor=actor)


@router.post("/incidents/{incident_id}/reopen", response_model=IncidentOut,
             dependencies=[dispatchers_only])
async def reopen_incident(
    incident_id: uuid.UUID, body: ReopenIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> IncidentOut:
    """Open a closed or cancelled incident again, saying why."""
    return await incident_workflow.reopen_incident(session=session, rt=rt, incident_id=incident_id,
                                         reason=body.reason, actor=actor)


@router.get("/incidents/{incident_id}/timeline", dependencies=[console_only])
async def incident_timeline(incident_id: uuid.UUID, session: SessionDep) -> list[dict[str, Any]]:
    """Every step of the incident, its calls, jobs, units and handovers: what, who and when."""
    return await service.timeline(session=session, incident_id=incident_id)
