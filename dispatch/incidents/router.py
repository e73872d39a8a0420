"""Incident routes."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.permissions import console_only
from dispatch.db import SessionDep
from dispatch.incidents import service
from dispatch.incidents.schemas import IncidentIn, IncidentOut, IncidentUpdate, LinkCallIn
from dispatch.runtime import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["incidents"], dependencies=[console_only])


@router.post("/incidents", response_model=IncidentOut, status_code=201)
async def create_incident(
    body: IncidentIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> IncidentOut:
    """Record the incident for an answered call."""
    return await service.create_incident(session=session, rt=rt, body=body, actor=actor)


@router.get("/incidents", response_model=list[IncidentOut])
async def list_incidents(
    session: SessionDep, actor: ActorDep,
    status: Literal["open", "dispatched", "closed", "cancelled"] | None = Query(default=None),
) -> list[IncidentOut]:
    """Recent incidents, newest first."""
    return [await service.incident_out(session, i)
            for i in await service.list_incidents(session=session, status=status)]


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
async def get_incident(incident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """One incident with its calls."""
    return await service.incident_out(session, await service.find_incident(session, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
async def update_incident(
    incident_id: uuid.UUID, body: IncidentUpdate, session: SessionDep, rt: RuntimeDep,
    actor: ActorDep,
) -> IncidentOut:
    """Change some fields of an incident."""
    return await service.update_incident(session=session, rt=rt, incident_id=incident_id,
                                         body=body, actor=actor)


@router.post("/incidents/{incident_id}/calls", response_model=IncidentOut)
async def link_call(
    incident_id: uuid.UUID, body: LinkCallIn, session: SessionDep, rt: RuntimeDep, actor: ActorDep
) -> IncidentOut:
    """Link a duplicate caller's call to this incident."""
    return await service.link_call(session=session, rt=rt, incident_id=incident_id,
                                   call_id=body.call_id, actor=actor)
