"""The chain of times of each incident, read from the records in a few set-based statements.

Unit events carry no assignment: a status change belongs to the job its unit held then (a unit
works one job at a time), that is to the assignment whose `confirmed_at .. ended_at` spans it.
The steps of the chain come back as seconds since the epoch (one float per step, no datetime
objects for a month of 100,000 incidents); the calls, for the answer figures, as datetimes.
Supervisors' test calls are left out, and so are incidents recorded from test calls only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import CTE, Float, Select, and_, case, exists, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dispatch.calls.callbacks import SERVED
from dispatch.calls.models import Call, Callback, CallbackStatus
from dispatch.calls.slo import CallTimes
from dispatch.db import UTCDateTime, table
from dispatch.fleet.models import Assignment, UnitEvent, UnitStatus
from dispatch.handovers.models import Handover
from dispatch.incidents.models import Incident
from dispatch.places import stats as places_stats
from dispatch.routing.models import RoutingDecision

OPEN_ENDED = datetime(9999, 12, 31, tzinfo=UTC)
MILESTONES = {"en_route": UnitStatus.EN_ROUTE, "on_scene": UnitStatus.ON_SCENE,
              "left_scene": UnitStatus.TRANSPORTING, "at_hospital": UnitStatus.AT_HOSPITAL}
INCIDENTS, CALLS, JOBS, EVENTS, HANDOVERS, CALLBACKS, DECISIONS = (table(m).c for m in (
    Incident, Call, Assignment, UnitEvent, Handover, Callback, RoutingDecision))


class epoch(FunctionElement[float]):
    """Seconds since 1970 of a stored time, as a float, on either backend."""

    type = Float()
    name = "epoch"
    inherit_cache = True


@compiles(epoch)
@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # SQLite keeps UTC text; julianday reads it (day 2440587.5 is 1970-01-01T00:00Z).
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


Times = NDArray[np.float64]
STEPS = ("created_at", "call_at", "answered_at", "dispatched_at", "en_route_at", "on_scene_at",
         "left_scene_at", "at_hospital_at", "handed_over_at")
FROM_SQL = ("created_at", "dispatched_at", "en_route_at", "on_scene_at", "left_scene_at", "at_hospital_at")
# An incident is recorded while its call is taken: its calls rang before it, within this.
CALL_LEAD = timedelta(days=1)


def times(values: Sequence[float | None]) -> Times:
    """Epoch seconds as an array, NaN where a step did not happen."""
    return np.array(values, dtype=np.float64)


@dataclass(slots=True)
class Chains:
    """The window's incidents column by column: each step of the chain an array of the first time
    (epoch seconds) it happened, NaN when it did not."""

    ids: list[uuid.UUID]
    status: list[str]
    severity: list[str]
    zone_status: list[str | None]
    sub_district_id: list[str | None]
    jobs: list[int]
    at: dict[str, Times]

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> Chains:
        """From the rows of chains_statement; the call, answer and handover come later."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * 12
        at = {step: times(columns[5 + n]) for n, step in enumerate(FROM_SQL)}
        for step in STEPS:
            at.setdefault(step, np.full(len(rows), np.nan))
        return cls(ids=list(columns[0]), status=list(columns[1]), severity=list(columns[2]),
                   zone_status=list(columns[3]), sub_district_id=list(columns[4]), jobs=list(columns[-1]),
                   at=at)

    def first(self, step: str, found: dict[Any, float]) -> None:
        """Set a step from the earliest time found per incident id."""
        column = self.at[step]
        for n, incident in enumerate(self.ids):
            if incident in found:
                column[n] = found[incident]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(slots=True)
class HandoverColumns:
    """Handovers of the window's incidents, column by column."""

    status: list[str]
    crew_reason: list[str | None]
    arrived_at: Times
    done_at: Times

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> HandoverColumns:
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * 5
        return cls(status=list(columns[0]), crew_reason=list(columns[3]), arrived_at=times(columns[1]),
                   done_at=times(columns[2]))


class CallRow(NamedTuple):
    """A call's times (the SLO's CallTimes) from a plain row."""

    id: uuid.UUID
    status: str
    rung_at: datetime
    answered_at: datetime | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    incident_id: uuid.UUID | None


@dataclass(slots=True)
class Records:
    """What the indicators of one window are computed from."""

    chains: Chains
    calls: list[CallTimes]
    served: set[str]
    resolved: dict[uuid.UUID, str]
    handovers: HandoverColumns


def wanted_incidents(start: datetime, end: datetime, zone_id: str | None,
                     sub_district_id: str | None) -> CTE:
    i, c = INCIDENTS, CALLS
    # A drill: an incident recorded from a supervisor's test call, and from no real call.
    drill = and_(exists().where(c.incident_id == i.id, c.test.is_(True)),
                 ~exists().where(c.incident_id == i.id, c.test.is_(False)))
    query = select(i.id, i.created_at, i.status, i.severity, i.zone_status, i.sub_district_id).where(
        i.created_at >= start, i.created_at < end, ~drill)
    if zone_id is not None:
        query = query.where(i.zone_id == zone_id)
    if sub_district_id is not None:
        query = query.where(i.sub_district_id == sub_district_id)
    return query.cte("wanted")


def chains_statement(wanted: CTE) -> Select[Any]:
    """One row per incident: when it was recorded, its first dispatch and each step of its units
    (its calls and handovers are read anyway, and joined in Python: cheaper than in SQL)."""
    e, a = EVENTS, JOBS
    steps = [func.min(case((e.to_status == status.value, e.at))).label(name)
             for name, status in MILESTONES.items()]
    # Both bounds in the index's range (an open job runs until further notice); only the steps.
    spans = and_(e.unit_id == a.unit_id, e.type == "status", e.at >= a.confirmed_at,
                 e.at <= func.coalesce(a.ended_at, literal(OPEN_ENDED, UTCDateTime())),
                 e.to_status.in_([s.value for s in MILESTONES.values()]))
    per_incident = (select(a.incident_id, func.count(a.id.distinct()).label("jobs"),
                           func.min(a.confirmed_at).label("dispatched"), *steps)
                    .join(wanted, wanted.c.id == a.incident_id).outerjoin(table(UnitEvent), spans)
                    .where(a.confirmed_at.is_not(None))
                    .group_by(a.incident_id).subquery("per_incident"))
    w, j = wanted.c, per_incident.c
    return (select(w.id, w.status, w.severity, w.zone_status, w.sub_district_id, epoch(w.created_at),
                   epoch(j.dispatched), *(epoch(j[name]) for name in MILESTONES),
                   func.coalesce(j.jobs, 0))
            .select_from(wanted).outerjoin(per_incident, j.incident_id == w.id))


def earliest(found: dict[Any, float], key: Any, at: float) -> None:
    if key not in found or at < found[key]:
        found[key] = at


async def rows_of(connection: AsyncConnection, statement: Select[Any]) -> Sequence[Sequence[Any]]:
    """All rows of a statement; on PostgreSQL straight from asyncpg's records, skipping the
    conversion of each value into SQLAlchemy's rows (about 0.5 s for 100,000 incidents). The
    statements passed here select plain columns: text, numbers, ids and times (asyncpg gives
    aware UTC datetimes, as the UTCDateTime columns do)."""
    if connection.dialect.name != "postgresql":
        converted: Sequence[Sequence[Any]] = (await connection.execute(statement)).all()
        return converted
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    rows: Sequence[Sequence[Any]] = await driver.fetch(
        str(compiled), *(compiled.params[name] for name in compiled.positiontup or ()))
    return rows


async def read(*, session: AsyncSession, start: datetime, end: datetime, zone_id: str | None = None,
               sub_district_id: str | None = None) -> Records:
    """Read the incidents recorded in [start, end), their calls, jobs and handovers, and the
    calls that rang in [start, end)."""
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # A month's statement is estimated dear enough to be compiled by JIT (about 0.8 s spent
        # compiling a query that runs in less) and sorts past the default work_mem.
        await connection.execute(text("SET LOCAL jit = off"))
        await connection.execute(text("SET LOCAL work_mem = '64MB'"))
    wanted = wanted_incidents(start, end, zone_id, sub_district_id)
    chains = Chains.of(await rows_of(connection, chains_statement(wanted)))
    c = CALLS
    rows = await rows_of(connection, select(
        c.id, c.status, c.rung_at, c.answered_at, c.abandoned_at, c.ended_at, c.incident_id)
        .where(c.rung_at >= start - CALL_LEAD, c.rung_at < end, c.test.is_(False)))
    everyone = [CallRow(*r) for r in rows]
    ours = set(chains.ids)
    rung: dict[Any, float] = {}
    answered: dict[Any, float] = {}
    for call in everyone:
        if call.incident_id in ours:
            earliest(rung, call.incident_id, call.rung_at.timestamp())
            if call.answered_at is not None:
                earliest(answered, call.incident_id, call.answered_at.timestamp())
    chains.first("call_at", rung)
    chains.first("answered_at", answered)
    filtered = zone_id is not None or sub_district_id is not None
    calls = cast(list[CallTimes], [call for call in everyone if call.rung_at >= start
                                   and (not filtered or call.incident_id in ours)])
    h = HANDOVERS
    handover_rows = await rows_of(connection, (
        select(h.status, epoch(h.arrived_at), epoch(h.done_at), h.done_by_crew_reason, h.incident_id)
        .join(wanted, wanted.c.id == h.incident_id)))
    handovers = HandoverColumns.of(handover_rows)
    done: dict[Any, float] = {}
    for row in handover_rows:
        if row[2] is not None:
            earliest(done, row[4], row[2])
    chains.first("handed_over_at", done)
    b = CALLBACKS
    served = {str(i) for i in (await connection.scalars(
        select(b.call_id).join(table(Call), c.id == b.call_id)
        .where(b.status == CallbackStatus.RESOLVED, b.outcome.in_(SERVED),
               c.rung_at >= start, c.rung_at < end))).all()}
    return Records(chains=chains, calls=calls, served=served,
                   resolved=await resolutions(connection, wanted), handovers=handovers)


async def resolutions(connection: Any, wanted: CTE) -> dict[uuid.UUID, str]:
    """How each incident whose latest routing decision sends no ambulance is resolved."""
    d = DECISIONS
    rank = func.row_number().over(partition_by=d.incident_id,
                                  order_by=(d.decided_at.desc(), d.id.desc())).label("rank")
    ranked = (select(d.incident_id, d.outcome, d.transport_mode, rank)
              .join(wanted, wanted.c.id == d.incident_id).subquery("ranked"))
    no_ambulance = (ranked.c.outcome != "transport") | ranked.c.transport_mode.in_(
        sorted(places_stats.NO_AMBULANCE_MODES))
    out: dict[uuid.UUID, str] = {}
    for incident_id, outcome, mode in await connection.execute(
        select(ranked.c.incident_id, ranked.c.outcome, ranked.c.transport_mode)
        .where(ranked.c.rank == 1, no_ambulance)
    ):
        resolved = places_stats.resolution(outcome, mode)
        if resolved is not None:
            out[incident_id] = resolved
    return out


async def units_of(*, session: AsyncSession, start: datetime, end: datetime) -> dict[uuid.UUID, list[str]]:
    """The units sent to each incident recorded in [start, end), in the order they were sent."""
    wanted = wanted_incidents(start, end, None, None)
    out: dict[uuid.UUID, list[str]] = {}
    for incident_id, unit_id in await session.execute(
        select(JOBS.incident_id, JOBS.unit_id).join(wanted, wanted.c.id == JOBS.incident_id)
        .where(JOBS.confirmed_at.is_not(None)).order_by(JOBS.confirmed_at)
    ):
        out.setdefault(incident_id, []).append(unit_id)
    return out
