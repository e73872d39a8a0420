"""Routes of the hospital side: incoming patients, handovers, capacity, suspensions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Path, Query

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import (
    CONFIGURERS,
    CONSOLE,
    UNIT_ACTORS,
    hospital_actors_only,
    readers_only,
    require_own_hospital,
    require_own_unit,
)
from dispatch.auth.schemas import Role
from dispatch.db import SessionDep
from dispatch.errors import Forbidden, InvalidInput
from dispatch.handovers import service, stats
from dispatch.handovers.schemas import (
    CapacityAdjustIn,
    CapacitySetIn,
    HandoverDoneIn,
    ReopenIn,
    RerouteIn,
    SuspendIn,
)
from dispatch.hospitals import capacity
from dispatch.hospitals import service as hospitals_service
from dispatch.hospitals.enums import CapacityCategory, HospitalStatus
from dispatch.hospitals.schemas import HospitalOut
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.workflows import handover as handover_workflow
from dispatch.workflows import suspension

router = DomainRouter(prefix="/api/v1", tags=["hospital side"])

HospitalId = Annotated[str, Path(max_length=64)]
HandoverId = Annotated[str, Path(max_length=40)]


@router.get("/handovers", dependencies=[allow(*CONSOLE, Role.HOSPITAL)])
async def list_handovers(
    session: SessionDep, principal: CurrentPrincipal,
    hospital_id: str | None = Query(default=None, max_length=64),
) -> list[dict[str, Any]]:
    """Patients coming in or waiting at hospital doors, with their clocks."""
    if principal.hospital_id and not principal.has(*CONSOLE):
        hospital_id = principal.hospital_id
    return await service.active(session=session, hospital_id=hospital_id)


@router.get("/handovers/stats", response_model=list[stats.HandoverStats],
            dependencies=[allow(*CONSOLE, Role.HOSPITAL)])
async def handover_stats(
    session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    hospital_id: str | None = Query(default=None, max_length=64),
    hours: float = Query(default=24, gt=0, le=24 * 31),
) -> list[stats.HandoverStats]:
    """Handover times per hospital: p50, p90 and how many took longer than the target."""
    if not principal.has(*CONSOLE):  # a hospital sees its own times only
        if principal.hospital_id is None or hospital_id not in (None, principal.hospital_id):
            raise Forbidden("a hospital reads its own handover times only")
        hospital_id = principal.hospital_id
    return await stats.per_hospital(
        session=session, now=rt.clock.now(), window=timedelta(hours=hours),
        target_minutes=rt.settings.handover_target_minutes, hospital_id=hospital_id)


@router.get("/hospitals/{hospital_id}/incoming", dependencies=[allow(*CONSOLE, Role.HOSPITAL)])
async def incoming(
    hospital_id: HospitalId, session: SessionDep, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    """The hospital's view: patients on their way (with ETA) and waiting at the door."""
    await hospitals_service.get_hospital(session=session, hospital_id=hospital_id)
    if not principal.has(*CONSOLE):
        require_own_hospital(principal, hospital_id, doing="seeing a hospital's incoming patients")
    return await service.active(session=session, hospital_id=hospital_id)


@router.post("/handovers/{handover_id}/acknowledge", dependencies=[hospital_actors_only])
async def acknowledge(
    handover_id: HandoverId, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> dict[str, Any]:
    """The hospital has seen the pre-arrival notice."""
    handover = await service.find(session, handover_id)
    require_own_hospital(principal, handover.hospital_id, doing="acknowledging a notice")
    done = await service.acknowledge_notice(session=session, rt=rt, handover_id=handover_id,
                                            actor=actor, hospital_id=principal.hospital_id)
    return service.handover_data(done)


@router.post("/handovers/{handover_id}/done", dependencies=[allow(Role.HOSPITAL, *UNIT_ACTORS)])
async def handover_done(
    handover_id: HandoverId, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep, body: HandoverDoneIn | None = None,
) -> dict[str, Any]:
    """The hospital has taken the patient over (a crew marking it must give a reason)."""
    handover = await service.find(session, handover_id)
    reason = body.reason if body else None
    by_hospital = principal.has(*CONFIGURERS) or (
        principal.has(Role.HOSPITAL) and principal.hospital_id == handover.hospital_id)
    if not by_hospital:
        require_own_unit(principal, handover.unit_id, doing="marking a handover done")
        if not reason:
            raise InvalidInput.field("body.reason", "a crew marking the handover must give a reason")
    done = await handover_workflow.mark_done(session=session, rt=rt, handover_id=handover_id, actor=actor,
                                   crew_reason=None if by_hospital else reason,
                                   hospital_id=principal.hospital_id if by_hospital else None)
    return service.handover_data(done)


@router.get("/hospitals/{hospital_id}/capacity", dependencies=[readers_only])
async def get_capacity(
    hospital_id: HospitalId, session: SessionDep, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    """Free beds and slots the hospital last reported, per kind."""
    return capacity.rows_out(await capacity.capacity_of(session=session, hospital_id=hospital_id))


@router.put("/hospitals/{hospital_id}/capacity/{category}", dependencies=[hospital_actors_only])
async def set_capacity(
    hospital_id: HospitalId, category: CapacityCategory, body: CapacitySetIn, session: SessionDep,
    rt: RuntimeDep, principal: CurrentPrincipal, actor: ActorDep,
) -> list[dict[str, Any]]:
    """Report how many beds of one kind are free (and in total)."""
    require_own_hospital(principal, hospital_id, doing="reporting capacity")
    rows = await capacity.change(session=session, rt=rt, hospital_id=hospital_id, category=category,
                                 actor=actor, available=body.available, total=body.total)
    return capacity.rows_out(rows)


@router.post("/hospitals/{hospital_id}/capacity/{category}/adjust",
             dependencies=[hospital_actors_only])
async def adjust_capacity(
    hospital_id: HospitalId, category: CapacityCategory, body: CapacityAdjustIn,
    session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal, actor: ActorDep,
) -> list[dict[str, Any]]:
    """Free (+) or take (−) beds of one kind; simultaneous adjustments all count."""
    require_own_hospital(principal, hospital_id, doing="reporting capacity")
    rows = await capacity.change(session=session, rt=rt, hospital_id=hospital_id, category=category,
                                 actor=actor, delta=body.delta)
    return capacity.rows_out(rows)


def _status_out(result: dict[str, Any]) -> dict[str, Any]:
    return {"hospital": HospitalOut.model_validate(result["hospital"]).model_dump(mode="json"),
            "scheduled": result["scheduled"], "flagged": result["flagged"]}


@router.post("/hospitals/{hospital_id}/suspend",
             dependencies=[allow(*CONFIGURERS)])
async def suspend(
    hospital_id: HospitalId, body: SuspendIn, session: SessionDep, rt: RuntimeDep,
    principal: CurrentPrincipal, actor: ActorDep,
) -> dict[str, Any]:
    """Suspend a hospital now or at `at`; patients on their way there are flagged for rerouting."""
    return _status_out(await suspension.set_status(
        session=session, rt=rt, hospital_id=hospital_id, status=HospitalStatus.SUSPENDED,
        reason=body.reason, at=body.at, actor=actor))


@router.post("/hospitals/{hospital_id}/reopen",
             dependencies=[allow(*CONFIGURERS)])
async def reopen(
    hospital_id: HospitalId, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep, body: ReopenIn | None = None,
) -> dict[str, Any]:
    """Reopen a suspended hospital now or at `at`."""
    body = body or ReopenIn()
    return _status_out(await suspension.set_status(
        session=session, rt=rt, hospital_id=hospital_id, status=HospitalStatus.OPEN,
        reason=body.reason, at=body.at, actor=actor))


@router.post("/assignments/{assignment_id}/reroute",
             dependencies=[allow(Role.DISPATCHER, *CONFIGURERS)])
async def accept_reroute(
    assignment_id: uuid.UUID, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep, body: RerouteIn | None = None,
) -> dict[str, Any]:
    """Send the unit to the new destination decided after its hospital was suspended."""
    assignment = await suspension.accept_reroute(
        session=session, rt=rt, assignment_id=assignment_id,
        decision_id=body.decision_id if body else None, actor=actor)
    return {"assignment_id": str(assignment.id), "destination_hospital_id":
            assignment.destination_hospital_id, "decision_id": str(assignment.decision_id)}
