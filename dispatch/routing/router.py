"""Routing HTTP routes: rule sets, decisions for incidents, and the what-if evaluation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, status

from dispatch.audit.dependencies import ActorDep
from dispatch.auth.dependencies import CurrentPrincipal, allow
from dispatch.auth.permissions import (
    CONFIGURERS,
    readers_only,
    require_own_job,
    sees_every_job,
)
from dispatch.auth.schemas import Role
from dispatch.db import SessionDep
from dispatch.fleet import assignments
from dispatch.routers import DomainRouter
from dispatch.routing import rule_sets, rules, service
from dispatch.routing.dependencies import RULE_SET_BODY, RuleSetSource
from dispatch.routing.models import RuleSet
from dispatch.routing.schemas import (
    DecideRequest,
    Decision,
    EvaluateRequest,
    RoutingDecisionOut,
    RuleSetDetail,
    RuleSetOut,
    ValidationReport,
)
from dispatch.runtime import RuntimeDep

Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="rule-set version")]

router = DomainRouter(prefix="/api/v1/routing", tags=["routing"])

DECIDERS = (Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


def detail(row: RuleSet) -> RuleSetDetail:
    out = RuleSetDetail.model_validate(row)
    try:
        out.rules = [r.id for r in rules.parse(row.source).rules]
    except rules.RuleSetInvalid:  # stored by an older hub that read it differently
        out.rules = []
    return out


@router.post("/evaluate", response_model=Decision, dependencies=[readers_only])
async def evaluate(
    body: EvaluateRequest, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal
) -> Decision:
    """Explain where a hypothetical patient would go, how, and which rules said so."""
    return await service.evaluate_hypothetical(session=session, rt=rt, request=body)


@router.post("/decisions", response_model=RoutingDecisionOut, status_code=status.HTTP_201_CREATED,
             dependencies=[allow(*DECIDERS)])
async def decide(
    body: DecideRequest, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal
) -> RoutingDecisionOut:
    """Decide for an incident now; recorded with the rule-set version that made it."""
    row = await service.decide_for_incident(session=session, rt=rt, incident_id=body.incident_id,
                                            actor=principal.name)
    return RoutingDecisionOut.model_validate(row)


@router.get("/decisions", response_model=list[RoutingDecisionOut], dependencies=[readers_only])
async def list_decisions(
    incident_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[RoutingDecisionOut]:
    """Every decision made for an incident, oldest first (for its crews and hospitals too)."""
    if not sees_every_job(principal):
        jobs = await assignments.for_incident(session=session, incident_id=incident_id)
        require_own_job(principal, jobs, doing="reading an incident's decisions")
    rows = await service.decisions_for_incident(session=session, incident_id=incident_id)
    return [RoutingDecisionOut.model_validate(r) for r in rows]


@router.get("/rule-sets", response_model=list[RuleSetOut], dependencies=[readers_only])
async def list_rule_sets(session: SessionDep, principal: CurrentPrincipal) -> list[RuleSetOut]:
    """Every rule-set version, newest first."""
    return [RuleSetOut.model_validate(r) for r in await rule_sets.list_rule_sets(session=session)]


@router.post("/rule-sets", response_model=RuleSetDetail, status_code=status.HTTP_201_CREATED,
             openapi_extra=RULE_SET_BODY,
             dependencies=[allow(*CONFIGURERS)])
async def upload_rule_set(
    source: RuleSetSource, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep, activate: bool = False,
) -> RuleSetDetail:
    """Store a rule set as a new version; a rule set that does not validate is rejected whole."""
    row = await rule_sets.upload(session=session, rt=rt, source=source, actor=actor,
                                 activate=activate)
    return detail(row)


@router.post("/rule-sets/validate", response_model=ValidationReport, openapi_extra=RULE_SET_BODY,
             dependencies=[readers_only])
async def validate_rule_set(
    source: RuleSetSource, session: SessionDep, principal: CurrentPrincipal
) -> ValidationReport:
    """Check a rule set without storing it; errors name each offending rule."""
    compiled = await rule_sets.check(session=session, source=source)
    return ValidationReport(valid=True, name=compiled.name, rules=compiled.rule_ids)


@router.get("/rule-sets/active", response_model=RuleSetDetail, dependencies=[readers_only])
async def active_rule_set(session: SessionDep, principal: CurrentPrincipal) -> RuleSetDetail:
    """The rule set deciding now, with its YAML."""
    return detail(await rule_sets.active_rule_set(session=session))


@router.post("/rule-sets/rollback", response_model=RuleSetOut,
             dependencies=[allow(*CONFIGURERS)])
async def rollback_rule_set(
    session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal, actor: ActorDep
) -> RuleSetOut:
    """Return to the version that was active before the current one."""
    return RuleSetOut.model_validate(await rule_sets.rollback(session=session, rt=rt, actor=actor))


@router.get("/rule-sets/{version:int}", response_model=RuleSetDetail, dependencies=[readers_only])
async def get_rule_set(
    version: Version, session: SessionDep, principal: CurrentPrincipal
) -> RuleSetDetail:
    """One rule-set version with its YAML."""
    return detail(await rule_sets.get_rule_set(session=session, version=version))


@router.post("/rule-sets/{version:int}/activate", response_model=RuleSetOut,
             dependencies=[allow(*CONFIGURERS)])
async def activate_rule_set(
    version: Version, session: SessionDep, rt: RuntimeDep, principal: CurrentPrincipal,
    actor: ActorDep,
) -> RuleSetOut:
    """Make a stored version the active one, on every instance at once."""
    row = await rule_sets.activate(session=session, rt=rt, version=version, actor=actor)
    return RuleSetOut.model_validate(row)
