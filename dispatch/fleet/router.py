"""Fleet routes: the unit board, crew reports, recommendations, assignments and coverage."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, authenticate
from dispatch.auth.permissions import (
    DispatcherRequest,
    OwnUnitRequest,
    ReaderRequest,
    UnitActorRequest,
    dispatchers_only,
    own_job,
    readers_only,
    require_own_job,
    require_own_unit,
    sees_every_job,
    unit_actors_only,
)
from dispatch.db import SessionDep
from dispatch.fleet import assignments, coverage, service
from dispatch.fleet.schemas import (
    AssignmentIn,
    AssignmentOut,
    CoverageOut,
    EscalatedOut,
    EscalateIn,
    JobOut,
    PositionAck,
    PositionIn,
    PostOut,
    ReasonIn,
    RecommendationOut,
    StatusIn,
    UnitOut,
)
from dispatch.routers import DomainRouter
from dispatch.runtime import RuntimeDep
from dispatch.workflows import dispatch, escalation, unit_status

router = DomainRouter(prefix="/api/v1", tags=["fleet"])
UnitId = Annotated[str, Path(max_length=32)]


async def own_unit(request: Request, unit_id: UnitId) -> None:
    """A crew acts for its own unit; dispatchers for any (checked before the body is read)."""
    require_own_unit(await authenticate(request), unit_id, doing="acting for a unit")


async def home_visit_team(incident_id: uuid.UUID, session: SessionDep,
                          principal: CurrentPrincipal) -> None:
    """Dispatchers, or the crew of the unit on the incident's open job, may escalate it."""
    visits = [a for a in await assignments.for_incident(session=session, incident_id=incident_id)
              if a.status in assignments.OPEN]
    require_own_unit(principal, visits[-1].unit_id if visits else "",
                     doing="escalating a home visit")


for_own_unit = Depends(own_unit)


# The routes of a call's life first: a request is matched against them in this order.
@router.post("/units/{unit_id}/status", response_model=UnitOut)
async def change_status(unit_id: UnitId, body: StatusIn, ctx: OwnUnitRequest) -> UnitOut:
    """Report the unit's new status; an illegal move is refused and changes nothing."""
    return await unit_status.change_status(session=ctx.session, rt=ctx.rt, unit_id=unit_id,
                                           to=body.status, actor=ctx.actor, reason=body.reason,
                                           at=body.at)


@router.post("/assignments/{assignment_id}/acknowledge", response_model=AssignmentOut)
async def acknowledge(assignment_id: uuid.UUID, ctx: UnitActorRequest) -> AssignmentOut:
    """The crew takes the job (before the acknowledgement deadline)."""
    def own(unit_id: str) -> None:
        require_own_unit(ctx.principal, unit_id, doing="acknowledging a job")

    return AssignmentOut.model_validate(await unit_status.acknowledge(
        session=ctx.session, rt=ctx.rt, assignment_id=assignment_id, actor=ctx.actor, check=own))


@router.post("/assignments", response_model=AssignmentOut, status_code=201)
async def dispatch_unit(body: AssignmentIn, ctx: DispatcherRequest) -> AssignmentOut:
    """Send a unit: it is reserved at once, or the request fails if someone else took it."""
    assignment = await dispatch.dispatch_unit(
        session=ctx.session, rt=ctx.rt, incident_id=body.incident_id, unit_id=body.unit_id,
        actor=ctx.actor, override_reason=body.override_reason)
    return AssignmentOut.model_validate(assignment)


@router.get("/incidents/{incident_id}/recommendations", response_model=RecommendationOut)
async def recommend(incident_id: uuid.UUID, ctx: DispatcherRequest,
                    limit: int = Query(default=5, ge=1, le=50)) -> RecommendationOut:
    """Units that may go, fastest first with their ETA, and why the others may not."""
    rec = await dispatch.recommendations(session=ctx.session, rt=ctx.rt, incident_id=incident_id,
                                         limit=limit)
    return RecommendationOut(incident_id=incident_id, **dataclasses.asdict(rec))


@router.get("/units/{unit_id}", response_model=UnitOut)
async def get_unit(unit_id: UnitId, ctx: ReaderRequest) -> UnitOut:
    """One unit's live state and the statuses its crew may report next."""
    return await service.get_unit(rt=ctx.rt, unit_id=unit_id)


@router.get("/units", response_model=list[UnitOut], dependencies=[readers_only])
async def list_units(rt: RuntimeDep) -> list[UnitOut]:
    """List units with their live status and position (stale positions flagged)."""
    return await service.list_units(rt=rt)


@router.get("/units/{unit_id}/job", response_model=JobOut, dependencies=[unit_actors_only, for_own_unit])
async def unit_job(unit_id: UnitId, session: SessionDep, rt: RuntimeDep) -> JobOut:
    """The job on the crew's tablet, or null."""
    return JobOut(job=await unit_status.job(session=session, rt=rt, unit_id=unit_id))


@router.get("/units/{unit_id}/history", dependencies=[readers_only])
async def unit_history(unit_id: UnitId, session: SessionDep,
                       limit: int = Query(default=100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The unit's status changes and position reports, newest first."""
    return await service.history(session=session, unit_id=unit_id, limit=limit)


@router.post("/units/{unit_id}/position", response_model=PositionAck,
             dependencies=[unit_actors_only, for_own_unit])
async def report_position(unit_id: UnitId, body: PositionIn, rt: RuntimeDep) -> dict[str, Any]:
    """Report where the unit is (tablets usually send this over their socket)."""
    return await service.report_position(rt=rt, unit_id=unit_id, lat=body.lat, lon=body.lon,
                                         at=body.at)


@router.get("/posts", response_model=list[PostOut], dependencies=[readers_only])
async def list_posts(session: SessionDep) -> list[PostOut]:
    """List ambulance posts and the sub-districts they cover."""
    return await service.list_posts(session=session)


@router.get("/coverage", response_model=CoverageOut, dependencies=[readers_only])
async def get_coverage(session: SessionDep, rt: RuntimeDep) -> CoverageOut:
    """Available units per post area against the population each crew protects."""
    return await coverage.coverage(session=session, rt=rt)


@router.get("/assignments", response_model=list[AssignmentOut], dependencies=[readers_only])
async def list_assignments(session: SessionDep, incident_id: uuid.UUID,
                           principal: CurrentPrincipal) -> list[AssignmentOut]:
    """An incident's assignments, oldest first (a crew's or hospital's own only)."""
    rows = await assignments.for_incident(session=session, incident_id=incident_id)
    require_own_job(principal, rows, doing="reading an incident's assignments")
    return [AssignmentOut.model_validate(a) for a in rows
            if sees_every_job(principal) or own_job(principal, a)]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut, dependencies=[readers_only])
async def get_assignment(assignment_id: uuid.UUID, session: SessionDep,
                         principal: CurrentPrincipal) -> AssignmentOut:
    """One assignment (a crew's or hospital's own only)."""
    assignment = await assignments.find(session, assignment_id)
    require_own_job(principal, [assignment], doing="reading an assignment")
    return AssignmentOut.model_validate(assignment)


@router.post("/assignments/{assignment_id}/decline", response_model=AssignmentOut,
             dependencies=[unit_actors_only])
async def decline(assignment_id: uuid.UUID, body: ReasonIn, session: SessionDep, rt: RuntimeDep,
                  actor: ActorDep, principal: CurrentPrincipal) -> AssignmentOut:
    """The crew cannot take the job; the next unit is proposed."""
    found = await assignments.find(session, assignment_id)
    require_own_unit(principal, found.unit_id, doing="declining a job")
    return AssignmentOut.model_validate(await unit_status.decline(
        session=session, rt=rt, assignment_id=assignment_id, actor=actor, reason=body.reason))


@router.post("/assignments/{assignment_id}/cancel", response_model=AssignmentOut,
             dependencies=[dispatchers_only])
async def cancel(assignment_id: uuid.UUID, body: ReasonIn, session: SessionDep, rt: RuntimeDep,
                 actor: ActorDep) -> AssignmentOut:
    """Stand the unit down."""
    return AssignmentOut.model_validate(await unit_status.cancel(
        session=session, rt=rt, assignment_id=assignment_id, actor=actor, reason=body.reason))


@router.post("/incidents/{incident_id}/escalate", response_model=EscalatedOut,
             dependencies=[unit_actors_only, Depends(home_visit_team)])
async def escalate(incident_id: uuid.UUID, body: EscalateIn, session: SessionDep, rt: RuntimeDep,
                   actor: ActorDep) -> EscalatedOut:
    """The home-visit GP calls for an ambulance: the fastest one (or the one named) is sent,
    linked to the home-visit job."""
    out = await escalation.escalate(session=session, rt=rt, incident_id=incident_id, actor=actor,
                                    severity=body.severity, finding=body.finding, unit_id=body.unit_id)
    sent = out["assignment"]
    return EscalatedOut(escalation=out["escalation"], warnings=out["warnings"],
                        home_visit_assignment_id=out["home_visit_assignment_id"],
                        assignment=AssignmentOut.model_validate(sent) if sent else None)
