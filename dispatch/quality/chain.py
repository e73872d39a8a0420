"""The chain of times of each incident, read from the records in a few set-based statements.

Each job keeps the first time its crew reported each step (recorded with the report, see
fleet/assignments.py), so the chain needs the jobs only, not the units' status history.
The steps of the chain come back as seconds since the epoch (one float per step, no datetime
objects for a month of 100,000 incidents), and so do the calls' times.
Supervisors' test calls are left out, and so are incidents recorded from test calls only.
"""

from __future__ import annotations

import re
import uuid
from asyncio import TaskGroup
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import CTE, Float, Select, and_, bindparam, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dispatch.calls.callbacks import SERVED
from dispatch.calls.enums import CallbackStatus
from dispatch.calls.models import Call, Callback
from dispatch.db import table
from dispatch.fleet.enums import STEP_COLUMNS
from dispatch.fleet.models import Assignment
from dispatch.handovers.models import Handover
from dispatch.incidents.models import Incident
from dispatch.places import stats as places_stats
from dispatch.routing.models import RoutingDecision

CALLS_TOO = table(Call).alias("real_call")
INCIDENTS, CALLS, JOBS, HANDOVERS, CALLBACKS, DECISIONS = (table(m).c for m in (
    Incident, Call, Assignment, Handover, Callback, RoutingDecision))


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
FROM_SQL = ("created_at", "call_at", "answered_at", "dispatched_at", "en_route_at", "on_scene_at",
            "left_scene_at", "at_hospital_at", "handed_over_at")
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
    def of(cls, columns: Sequence[Sequence[Any]]) -> Chains:
        """From the columns of chains_statement."""
        at = {step: times(columns[5 + n]) for n, step in enumerate(FROM_SQL)}
        return cls(ids=list(columns[0]), status=list(columns[1]), severity=list(columns[2]),
                   zone_status=list(columns[3]), sub_district_id=list(columns[4]), jobs=list(columns[-1]),
                   at=at)

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
    def of(cls, columns: Sequence[Sequence[Any]]) -> HandoverColumns:
        return cls(status=list(columns[0]), crew_reason=list(columns[3]), arrived_at=times(columns[1]),
                   done_at=times(columns[2]))


@dataclass(slots=True)
class CallColumns:
    """The window's calls column by column (epoch seconds, NaN where a step did not happen)."""

    status: list[str]
    rung_at: Times
    answered_at: Times
    ended_at: Times
    abandoned: NDArray[np.bool_]
    called_back: NDArray[np.bool_]  # abandoned, and the caller was reached by a callback
    incident_id: list[uuid.UUID | None]

    @classmethod
    def of(cls, columns: Sequence[Sequence[Any]]) -> CallColumns:
        return cls(status=list(columns[0]), rung_at=times(columns[1]), answered_at=times(columns[2]),
                   ended_at=times(columns[3]), abandoned=np.array(columns[4], dtype=bool),
                   called_back=np.array(columns[5], dtype=bool), incident_id=list(columns[6]))

    def waits(self) -> Times:
        """Seconds from the first ring to the answer of each answered call (to the ms)."""
        answered = ~np.isnan(self.answered_at)
        return np.round(self.answered_at[answered] - self.rung_at[answered], 3)

    def __len__(self) -> int:
        return len(self.status)


@dataclass(slots=True)
class Records:
    """What the indicators of one window are computed from."""

    chains: Chains
    calls: CallColumns
    resolved: dict[uuid.UUID, str]
    handovers: HandoverColumns


def wanted_incidents(start: datetime, end: datetime, zone_id: str | None,
                     sub_district_id: str | None) -> CTE:
    i, c = INCIDENTS, CALLS
    # Drills: incidents recorded from a supervisor's test call and from no real call (test calls
    # are few: the list is read once, not looked up for each incident).
    real = CALLS_TOO.c
    drills = select(c.incident_id).where(
        c.test.is_(True), c.incident_id.is_not(None),
        ~exists().where(real.incident_id == c.incident_id, real.test.is_(False)))
    query = select(i.id, i.created_at, i.status, i.severity, i.zone_status, i.sub_district_id).where(
        i.created_at >= start, i.created_at < end, i.id.not_in(drills))
    if zone_id is not None:
        query = query.where(i.zone_id == zone_id)
    if sub_district_id is not None:
        query = query.where(i.sub_district_id == sub_district_id)
    return query.cte("wanted")


def chains_statement(wanted: CTE) -> Select[Any]:
    """One row per incident: when it was recorded, when its first call rang and was answered
    (supervisors' test calls aside), its first dispatch, the first time any of its units
    reported each step (kept on each job as the crew reports it) and its first handover."""
    a = JOBS
    per_incident = (select(a.incident_id, func.count(a.id).label("jobs"),
                           func.min(a.confirmed_at).label("dispatched"),
                           *(func.min(a[column]).label(column) for column in STEP_COLUMNS.values()))
                    .join(wanted, wanted.c.id == a.incident_id)
                    .where(a.confirmed_at.is_not(None))
                    .group_by(a.incident_id).subquery("per_incident"))
    c, h = CALLS, HANDOVERS
    calls = (select(c.incident_id, func.min(c.rung_at).label("rung"),
                    func.min(c.answered_at).label("answered"))
             .join(wanted, wanted.c.id == c.incident_id)
             .where(c.rung_at >= bindparam("calls_from"), c.rung_at < bindparam("calls_until"),
                    c.test.is_(False))
             .group_by(c.incident_id).subquery("first_call"))
    handed = (select(h.incident_id, func.min(h.done_at).label("done"))
              .join(wanted, wanted.c.id == h.incident_id)
              .group_by(h.incident_id).subquery("first_handover"))
    w, j = wanted.c, per_incident.c
    return (select(w.id, w.status, w.severity, w.zone_status, w.sub_district_id, epoch(w.created_at),
                   epoch(calls.c.rung), epoch(calls.c.answered), epoch(j.dispatched),
                   *(epoch(j[column]) for column in STEP_COLUMNS.values()), epoch(handed.c.done),
                   func.coalesce(j.jobs, 0))
            .select_from(wanted).outerjoin(per_incident, j.incident_id == w.id)
            .outerjoin(calls, calls.c.incident_id == w.id)
            .outerjoin(handed, handed.c.incident_id == w.id))


async def columns_of(connection: AsyncConnection, statement: Select[Any],
                     width: int) -> list[Sequence[Any]]:
    """A statement's result column by column. On PostgreSQL each column comes back as one array
    (array_agg over the statement): asyncpg decodes it into a list in one go, with no record
    per row to build and transpose (about a third of the read for a month)."""
    if connection.dialect.name != "postgresql":
        rows = await rows_of(connection, statement)
        return list(zip(*rows, strict=True)) if rows else [()] * width
    every = statement.subquery("each_row")
    aggregated = cast(Select[Any], select(*(func.array_agg(column) for column in every.c)))
    (arrays,) = await rows_of(connection, aggregated)
    return [array if array is not None else () for array in arrays]


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


SNAPSHOT_ID = re.compile(r"^[0-9A-F]+(-[0-9A-F]+)+$")


@asynccontextmanager
async def one_snapshot(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, AsyncConnection]]:
    """Two PostgreSQL connections reading the same snapshot of the records, so that two
    statements run side by side (one decoding its rows while the other still runs) and still
    see one moment."""
    async with engine.connect() as first, engine.connect() as second:
        first = await first.execution_options(isolation_level="REPEATABLE READ")
        second = await second.execution_options(isolation_level="REPEATABLE READ")
        snapshot = str(await first.scalar(text("SELECT pg_export_snapshot()")))
        if not SNAPSHOT_ID.match(snapshot):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        await second.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        for connection in (first, second):
            await tuned(connection)
        yield first, second


async def tuned(connection: AsyncConnection) -> None:
    """A month's statement is estimated dear enough to be compiled by JIT (about 0.8 s spent
    compiling a query that runs in less) and sorts past the default work_mem."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SET LOCAL jit = off"))
        await connection.execute(text("SET LOCAL work_mem = '64MB'"))


async def read(*, session: AsyncSession, start: datetime, end: datetime, zone_id: str | None = None,
               sub_district_id: str | None = None) -> Records:
    """Read the incidents recorded in [start, end) with the first time each step of their chain
    happened, their handovers, and the calls that rang in [start, end) (only the filtered
    incidents' calls when a zone or sub-district is asked for)."""
    wanted = wanted_incidents(start, end, zone_id, sub_district_id)
    chained = chains_statement(wanted).params(calls_from=start - CALL_LEAD, calls_until=end)
    c, b, h = CALLS, CALLBACKS, HANDOVERS
    reached = (select(b.id).where(b.call_id == c.id, b.status == CallbackStatus.RESOLVED,
                                  b.outcome.in_(SERVED)).exists())
    abandoned = c.abandoned_at.is_not(None)
    calls = select(c.status, epoch(c.rung_at), epoch(c.answered_at), epoch(c.ended_at), abandoned,
                   and_(abandoned, reached), c.incident_id).where(c.rung_at >= start, c.rung_at < end,
                                                                  c.test.is_(False))
    if zone_id is not None or sub_district_id is not None:
        calls = calls.where(c.incident_id.in_(select(wanted.c.id)))
    handed = (select(h.status, epoch(h.arrived_at), epoch(h.done_at), h.done_by_crew_reason)
              .join(wanted, wanted.c.id == h.incident_id))

    async def the_rest(connection: AsyncConnection) -> tuple[CallColumns, HandoverColumns,
                                                             dict[uuid.UUID, str]]:
        return (CallColumns.of(await columns_of(connection, calls, 7)),
                HandoverColumns.of(await columns_of(connection, handed, 4)),
                await resolutions(connection, wanted))

    engine = session.bind
    if isinstance(engine, AsyncEngine) and engine.dialect.name == "postgresql":
        async with one_snapshot(engine) as (first, second), TaskGroup() as group:
            chain_read = group.create_task(columns_of(first, chained, 15))
            rung, handovers, resolved = await the_rest(second)
        chain_columns = chain_read.result()
    else:
        connection = await session.connection()  # SQLite, or a session inside a given transaction
        await tuned(connection)
        rung, handovers, resolved = await the_rest(connection)
        chain_columns = await columns_of(connection, chained, 15)
    return Records(chains=Chains.of(chain_columns), calls=rung, handovers=handovers,
                   resolved=resolved)


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
