"""Dispatch: rank the units for an incident, propose one, send it (reserve it in Redis, record
the job, mark the incident dispatched) — one unit of work each."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.db import one_of, table
from dispatch.errors import Conflict, DispatchError, NotFound
from dispatch.fleet import states
from dispatch.fleet.assignments import (
    INCIDENTS,
    INSERT_JOB,
    OPEN,
    A,
    assignment_event,
    incident_summary,
)
from dispatch.fleet.enums import STEP_COLUMNS
from dispatch.fleet.enums import UnitStatus as S
from dispatch.fleet.models import Assignment
from dispatch.fleet.recommend import Recommendation, recommend
from dispatch.fleet.service import (
    live,
    ms,
    stale_ms,
    status_event,
    status_params,
    status_statement,
    travel,
    undo,
    unit_row,
    write_status,
)
from dispatch.incidents import service as incidents
from dispatch.incidents.enums import IncidentStatus, InfectionStatus
from dispatch.incidents.models import Incident
from dispatch.prebuilt import prebuilt
from dispatch.routing.models import RoutingDecision
from dispatch.runtime import Runtime
from dispatch.work import Work, statements_alone

log = logging.getLogger(__name__)

AUTO = Actor(name="hub:auto-dispatch", role=None, source="hub")


AUTO_ATTEMPTS = 3


async def latest_decision(session: AsyncSession, incident_id: uuid.UUID) -> RoutingDecision | None:
    return (await session.scalars(
        select(RoutingDecision).where(RoutingDecision.incident_id == incident_id)
        .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc()).limit(1))).first()


async def find_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


@cache
def _rank_inputs(dialect: str) -> Select[Any]:
    """The incident's place, its latest decision's capabilities and the units that turned it
    down, in one statement built once per database (the hot path of the console)."""
    # The separator written into the text (aggregate_strings sends it at every execution).
    joined = func.string_agg if dialect == "postgresql" else func.group_concat
    latest_caps = (select(RoutingDecision.required_capabilities)
                   .where(RoutingDecision.incident_id == Incident.id)
                   .order_by(RoutingDecision.decided_at.desc(), RoutingDecision.id.desc())
                   .limit(1).scalar_subquery())
    declined = (select(joined(Assignment.unit_id, literal_column("','")))
                .where(Assignment.incident_id == Incident.id,
                       one_of(Assignment.status, (A.DECLINED, A.TIMED_OUT)))
                .scalar_subquery())
    return prebuilt(select(Incident.lat, Incident.lon, latest_caps, declined)
                    .where(Incident.id == bindparam("incident_id")))


def rank_inputs(session: AsyncSession) -> Select[Any]:
    return _rank_inputs(session.get_bind().dialect.name)


async def recommendations(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, limit: int = 5
) -> Recommendation:
    """Units that may go to the incident, fastest first, and why the nearer others may not."""
    statements_alone(session)  # a read of one row: no transaction block
    found = (await session.execute(rank_inputs(session), {"incident_id": incident_id})).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}")
    lat, lon, caps, skip = found
    if lat is None or lon is None:
        raise Conflict("the incident has no location yet: units cannot be ranked")
    required = list(caps) if caps is not None else ["ambulance"]
    return await recommend(live(rt), lat=lat, lon=lon, required=required,
                           travel=travel(rt), now_ms=ms(rt.clock.now()), stale_after_ms=stale_ms(rt),
                           skip=set(skip.split(",")) if skip else set(), limit=limit)


def _dispatch_inputs() -> Select[Any]:
    """The incident and its latest routing decision, in one statement built once."""
    decisions = table(RoutingDecision).c
    newer = table(RoutingDecision).alias("newest").c
    latest = (select(newer.id).where(newer.incident_id == INCIDENTS.id)
              .order_by(newer.decided_at.desc(), newer.id.desc()).limit(1)
              .correlate(table(Incident)).scalar_subquery())
    return (select(INCIDENTS.id, INCIDENTS.status, INCIDENTS.address, INCIDENTS.lat, INCIDENTS.lon,
                   INCIDENTS.severity, INCIDENTS.category, INCIDENTS.infection_status,
                   decisions.id.label("decision_id"),
                   decisions.required_capabilities, decisions.destination_hospital_id)
            .select_from(table(Incident))
            .outerjoin(table(RoutingDecision), decisions.id == latest)
            .where(INCIDENTS.id == bindparam("incident_id")))


DISPATCH_INPUTS = prebuilt(_dispatch_inputs())


# What a new job is written with: every column but the steps' times (the crew's reports).
NEW_JOB = tuple(c.key for c in table(Assignment).columns if c.key not in STEP_COLUMNS.values())


def _dispatch_pg() -> Any:
    """PostgreSQL: the job, the unit's status (its row, history and audit entry), the job's
    audit entry and the incident marked dispatched if it was open, in one statement."""
    columns = table(Assignment).c
    job = (insert(table(Assignment))
           .values({k: bindparam(f"new_job_{k}", type_=columns[k].type) for k in NEW_JOB})
           .returning(columns.id).cte("job"))
    marked = incidents.MARK_DISPATCHED.returning(INCIDENTS.id).cte("marked")
    return status_statement(job, audit.along(job).cte("dispatched"), marked)


DISPATCH_PG = prebuilt(_dispatch_pg())


async def dispatch_unit(
    *, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID, unit_id: str, actor: Actor,
    override_reason: str | None = None, escalated_from: uuid.UUID | None = None,
) -> Assignment:
    """Send a unit to an incident: reserve it, record the job and put it on the crew's tablet."""
    work = Work(rt, session)
    statements_alone(session)  # a read that checks, then one statement writes (PostgreSQL)
    incident = await work.one(DISPATCH_INPUTS, {"incident_id": incident_id})
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.status in (IncidentStatus.CLOSED, IncidentStatus.CANCELLED):
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    row = await unit_row(rt, unit_id)
    if not row:
        raise NotFound(f"no unit {unit_id!r}")
    decided = incident.decision_id is not None
    required = list(incident.required_capabilities or []) if decided else []
    missing = [c for c in required if c not in row.get("caps", "").split(",")]
    if missing and not override_reason:
        raise Conflict(f"unit {unit_id} lacks {', '.join(missing)}: give an override_reason to send "
                       "it anyway", missing=missing)
    now = rt.clock.now()
    aid = uuid.uuid4()
    deadline = now + timedelta(seconds=rt.settings.ack_timeout_seconds)
    # An infected or suspected patient, or one the decision sends by negative-pressure
    # ambulance (sealed areas, isolation): the unit is disinfected before its next job.
    infectious = (incident.infection_status != InfectionStatus.NONE
                  or "negative_pressure" in required)
    moved = await live(rt).move(
        unit_id, S.ASSIGNED, now_ms=ms(now), allowed=states.RESERVE_FROM, expect="",
        assignment=str(aid), incident=str(incident.id), deadline=str(ms(deadline)),
        infectious="1" if infectious else "0")
    if not moved.ok:
        if moved.result == "unknown":
            raise NotFound(f"no unit {unit_id!r}")
        raise Conflict(f"unit {unit_id} is {moved.previous}: it cannot be assigned",
                       status_now=moved.previous, unit_id=unit_id)
    values = {
        "id": aid, "incident_id": incident.id, "unit_id": unit_id, "status": A.CONFIRMED,
        "decision_id": incident.decision_id,
        "destination_hospital_id": incident.destination_hospital_id if decided else None,
        "proposed_at": now, "proposed_by": actor.name[:64], "confirmed_at": now,
        "confirmed_by": actor.name[:64], "ack_deadline": deadline, "acknowledged_at": None,
        "ended_at": None, "end_reason": None, "override_reason": override_reason or None,
        "escalated_from_id": escalated_from,
    }
    entry = audit.row(actor=actor, action="assignment.dispatch", target_type="assignment",
                      target_id=str(aid), before=None,
                      after={"unit_id": unit_id, "incident_id": str(incident.id),
                             "override_reason": override_reason,
                             "escalated_from": escalated_from and str(escalated_from),
                             "missing_capabilities": missing}, at=now)
    status: dict[str, Any] = {
        "unit_id": unit_id, "previous": moved.previous, "to": S.ASSIGNED, "at": now, "actor": actor,
        "assignment_id": aid, "infectious": infectious, "reason": f"incident {incident.id}",
        "action": "unit.assigned"}
    try:
        if session.get_bind().dialect.name == "postgresql":
            params, _ = status_params(**status)
            if (await work.one(DISPATCH_PG, {
                    **params, **{f"new_job_{k}": values[k] for k in NEW_JOB}, **audit.params(entry),
                    "incident_id": incident.id})) is None:
                raise NotFound(f"no unit {unit_id!r}")
        else:
            await work.run(INSERT_JOB, values)
            await write_status(session, **status)
            work.audit_rows.append(entry)
            if incident.status == IncidentStatus.OPEN:
                await incidents.mark_dispatched(session, incident.id)
        assignment = Assignment(**values)
        work.publish(
            assignment_event(rt, "assignment.confirmed", assignment, now,
                             unit_call_sign=row.get("call_sign"), incident=incident_summary(incident)),
            status_event(rt, unit_id, moved.previous, S.ASSIGNED, now, assignment_id=str(aid)))
        await work.commit()
    except Exception as error:
        await work.rollback()
        await undo(rt, unit_id, back_to=moved.previous, now_to=S.ASSIGNED, row=row)
        if isinstance(error, IntegrityError):
            raise Conflict(f"unit {unit_id} already has a job", unit_id=unit_id) from None
        raise
    rt.metrics.assignments.labels("confirmed").inc()
    return assignment


async def propose(rt: Runtime, incident_id: uuid.UUID, *, reason: str,
                  new: Incident | None = None, lost: tuple[str, A] | None = None) -> str | None:
    """Tell consoles which unit should go next; send it at once for auto-dispatch severities.

    `new` is an incident its caller has just created (it has no jobs yet): it is not read again.
    `lost` is the unit the incident just lost and how (declined, timed out, out of service):
    consoles raise an alert that stays until someone sends a unit."""
    async with rt.sessionmaker() as session:
        incident = (await session.merge(new, load=False) if new is not None
                    else await session.get(Incident, incident_id))
        if (incident is None or incident.lat is None
                or incident.status not in (IncidentStatus.OPEN, IncidentStatus.DISPATCHED)):
            return None
        open_jobs = new is None and await session.scalar(select(func.count()).select_from(
            Assignment).where(Assignment.incident_id == incident_id, Assignment.status.in_(OPEN)))
        if open_jobs:
            return None
        try:
            rec = await recommendations(session=session, rt=rt, incident_id=incident_id, limit=AUTO_ATTEMPTS)
        except DispatchError as error:
            log.warning("no proposal for incident %s: %s", incident_id, error.detail)
            return None
        top = rec.candidates[0] if rec.candidates else None
        await rt.bus.emit("assignment.proposed", {
            "incident_id": str(incident_id), "unit_id": top.unit_id if top else None,
            "call_sign": top.call_sign if top else None,
            "lost": {"unit_id": lost[0], "ending": lost[1].value} if lost else None,
            "incident": incident_summary(incident),
            "eta_seconds": top.eta_seconds if top else None, "reason": reason,
            "candidates": [{"unit_id": c.unit_id, "call_sign": c.call_sign, "eta_seconds": c.eta_seconds}
                           for c in rec.candidates], "warnings": rec.warnings})
        if incident.severity not in rt.settings.auto_dispatch_severities:
            return top.unit_id if top else None
        for candidate in rec.candidates:
            try:
                await dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                    unit_id=candidate.unit_id, actor=AUTO)
                return candidate.unit_id
            except Conflict:  # taken a moment ago by someone else: try the next one
                continue
    return None


async def propose_new(work: Work, incident: Incident, *, required: list[str], reason: str) -> list[str]:
    """Propose a unit for an incident recorded in this unit of work (no jobs, nobody declined):
    the event goes out with the work; returns the units to send at once, best first, once it
    has committed (auto-dispatch severities), else none."""
    rt = work.rt
    if incident.lat is None or incident.lon is None:
        return []
    try:
        rec = await recommend(live(rt), lat=incident.lat, lon=incident.lon, required=required,
                              travel=travel(rt), now_ms=ms(rt.clock.now()),
                              stale_after_ms=stale_ms(rt), skip=set(), limit=AUTO_ATTEMPTS)
    except DispatchError as error:
        log.warning("no proposal for incident %s: %s", incident.id, error.detail)
        return []
    top = rec.candidates[0] if rec.candidates else None
    work.emit("assignment.proposed", {
        "incident_id": str(incident.id), "unit_id": top.unit_id if top else None,
        "call_sign": top.call_sign if top else None, "lost": None,
        "incident": incident_summary(incident),
        "eta_seconds": top.eta_seconds if top else None, "reason": reason,
        "candidates": [{"unit_id": c.unit_id, "call_sign": c.call_sign, "eta_seconds": c.eta_seconds}
                       for c in rec.candidates], "warnings": rec.warnings})
    if incident.severity not in rt.settings.auto_dispatch_severities:
        return []
    return [c.unit_id for c in rec.candidates]


async def send_first(*, session: AsyncSession, rt: Runtime, incident_id: uuid.UUID,
                     units: list[str]) -> str | None:
    """Send the first of `units` that can still go (auto-dispatch)."""
    for unit_id in units:
        try:
            await dispatch_unit(session=session, rt=rt, incident_id=incident_id, unit_id=unit_id,
                                actor=AUTO)
            return unit_id
        except Conflict:  # taken a moment ago by someone else: try the next one
            continue
    return None

