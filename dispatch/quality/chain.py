"""The chain of times of each incident, read from the records in a few set-based statements.

Unit events carry no assignment: a status change belongs to the job its unit held then (a unit
works one job at a time), that is to the assignment whose `confirmed_at .. ended_at` spans it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.callbacks import SERVED
from dispatch.calls.models import Call, Callback, CallbackStatus
from dispatch.calls.slo import CALL_TIMES, CallTimes
from dispatch.db import UTCDateTime
from dispatch.fleet.models import Assignment, UnitEvent, UnitStatus
from dispatch.handovers.models import Handover
from dispatch.incidents.models import Incident
from dispatch.places import stats as places_stats
from dispatch.routing.models import RoutingDecision

# An incident is recorded after its call rings: read calls from this long before the window.
CALL_LEAD = timedelta(hours=1)
OPEN_ENDED = datetime(9999, 12, 31, tzinfo=UTC)
MILESTONES = {"en_route": UnitStatus.EN_ROUTE, "on_scene": UnitStatus.ON_SCENE,
              "left_scene": UnitStatus.TRANSPORTING, "at_hospital": UnitStatus.AT_HOSPITAL}


@dataclass(slots=True)
class Chain:
    """One incident and the first time each step of its chain happened (None: it did not)."""

    id: uuid.UUID
    created_at: datetime
    status: str
    severity: str
    zone_status: str | None
    sub_district_id: str | None
    call_at: datetime | None = None
    answered_at: datetime | None = None
    dispatched_at: datetime | None = None
    jobs: int = 0
    en_route_at: datetime | None = None
    on_scene_at: datetime | None = None
    left_scene_at: datetime | None = None
    at_hospital_at: datetime | None = None
    handed_over_at: datetime | None = None
    units: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandoverTimes:
    incident_id: uuid.UUID
    status: str
    arrived_at: datetime | None
    done_at: datetime | None
    crew_reason: str | None


@dataclass(slots=True)
class Records:
    """What the indicators of one window are computed from."""

    chains: dict[uuid.UUID, Chain]
    calls: list[CallTimes]
    served: set[str]
    resolved: dict[uuid.UUID, str]
    handovers: list[HandoverTimes]


def incidents_in(start: datetime, end: datetime, zone_id: str | None,
                 sub_district_id: str | None) -> Select[Any]:
    query = select(Incident.id).where(Incident.created_at >= start, Incident.created_at < end)
    if zone_id is not None:
        query = query.where(Incident.zone_id == zone_id)
    if sub_district_id is not None:
        query = query.where(Incident.sub_district_id == sub_district_id)
    return query


def first(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def jobs_statement(wanted: Select[Any]) -> Select[*tuple[Any, ...]]:
    """Per assignment: when it was confirmed and when its unit first reached each step."""
    e, a = UnitEvent, Assignment
    steps = [func.min(case((e.to_status == status.value, e.at))).label(name)
             for name, status in MILESTONES.items()]
    # Both bounds in the index's range (an open job runs until further notice).
    spans = and_(e.unit_id == a.unit_id, e.type == "status", e.at >= a.confirmed_at,
                 e.at <= func.coalesce(a.ended_at, literal(OPEN_ENDED, UTCDateTime())))
    return (select(a.id, a.incident_id, a.unit_id, a.confirmed_at, *steps)
            .outerjoin(e, spans)
            .where(a.incident_id.in_(wanted.scalar_subquery()), a.confirmed_at.is_not(None))
            .group_by(a.id, a.incident_id, a.unit_id, a.confirmed_at)
            .order_by(a.confirmed_at))


async def read(*, session: AsyncSession, start: datetime, end: datetime, zone_id: str | None = None,
               sub_district_id: str | None = None) -> Records:
    """Read the incidents created in [start, end), their calls, jobs and handovers."""
    wanted = incidents_in(start, end, zone_id, sub_district_id)
    chains = {r.id: Chain(id=r.id, created_at=r.created_at, status=r.status, severity=r.severity,
                          zone_status=r.zone_status, sub_district_id=r.sub_district_id)
              for r in await session.execute(
                  select(Incident.id, Incident.created_at, Incident.status, Incident.severity,
                         Incident.zone_status, Incident.sub_district_id)
                  .where(Incident.id.in_(wanted.scalar_subquery())))}
    filtered = zone_id is not None or sub_district_id is not None
    call_rows: Sequence[Any] = (await session.execute(
        select(*CALL_TIMES).where(Call.rung_at >= start - CALL_LEAD, Call.rung_at < end))).all()
    calls: list[CallTimes] = []
    for c in call_rows:
        chain = chains.get(c.incident_id) if c.incident_id is not None else None
        if chain is not None:
            chain.call_at = first(chain.call_at, c.rung_at)
            chain.answered_at = first(chain.answered_at, c.answered_at)
        if c.rung_at >= start and (chain is not None or not filtered):
            calls.append(c)
    for job in await session.execute(jobs_statement(wanted)):
        chain = chains[job.incident_id]
        chain.jobs += 1
        chain.units.append(job.unit_id)
        chain.dispatched_at = first(chain.dispatched_at, job.confirmed_at)
        chain.en_route_at = first(chain.en_route_at, job.en_route)
        chain.on_scene_at = first(chain.on_scene_at, job.on_scene)
        chain.left_scene_at = first(chain.left_scene_at, job.left_scene)
        chain.at_hospital_at = first(chain.at_hospital_at, job.at_hospital)
    handovers = [HandoverTimes(r.incident_id, r.status, r.arrived_at, r.done_at, r.done_by_crew_reason)
                 for r in await session.execute(
                     select(Handover.incident_id, Handover.status, Handover.arrived_at, Handover.done_at,
                            Handover.done_by_crew_reason)
                     .where(Handover.incident_id.in_(wanted.scalar_subquery())))]
    for h in handovers:
        chains[h.incident_id].handed_over_at = first(chains[h.incident_id].handed_over_at, h.done_at)
    served = {str(i) for i in (await session.scalars(
        select(Callback.call_id).join(Call, Call.id == Callback.call_id)
        .where(Callback.status == CallbackStatus.RESOLVED, Callback.outcome.in_(SERVED),
               Call.rung_at >= start, Call.rung_at < end))).all()}
    return Records(chains=chains, calls=calls, served=served,
                   resolved=await resolutions(session, wanted), handovers=handovers)


async def resolutions(session: AsyncSession, wanted: Select[Any]) -> dict[uuid.UUID, str]:
    """How each incident whose latest routing decision sends no ambulance is resolved."""
    latest: dict[uuid.UUID, str | None] = {}
    for incident_id, outcome, mode in await session.execute(
        select(RoutingDecision.incident_id, RoutingDecision.outcome, RoutingDecision.transport_mode)
        .where(RoutingDecision.incident_id.in_(wanted.scalar_subquery()))
        .order_by(RoutingDecision.decided_at, RoutingDecision.id)
    ):
        if incident_id is not None:  # oldest first: the last one stays
            latest[incident_id] = places_stats.resolution(outcome, mode)
    return {k: v for k, v in latest.items() if v is not None}
