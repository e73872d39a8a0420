"""Fleet services: the board, crews' status reports and positions.

A status change is decided in Redis first (one Lua script: legal now, or nothing changes),
then written to PostgreSQL with its history and audit entry; if that write fails the Redis
change is undone. Events go out after the commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    String,
    Uuid,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import livestate
from dispatch.audit import log as audit
from dispatch.audit.schemas import Actor
from dispatch.db import JSONType, UTCDateTime, table
from dispatch.errors import Conflict, DispatchError, IllegalTransition, InvalidInput, NotFound
from dispatch.fleet import states
from dispatch.fleet.enums import STEP_COLUMNS, AssignmentStatus
from dispatch.fleet.enums import UnitStatus as S
from dispatch.fleet.livestate import FleetLive, Moved, from_ms, read_units, rebuild_units
from dispatch.fleet.models import Assignment, Post, Unit, UnitEvent, UnitRef
from dispatch.fleet.schemas import PostOut, UnitOut
from dispatch.prebuilt import prebuilt
from dispatch.realtime.schemas import OutgoingEvent, Scope
from dispatch.runtime import Runtime
from dispatch.travel import Osrm, StraightLine, TravelModel

log = logging.getLogger(__name__)


def live(rt: Runtime) -> FleetLive:
    return rt.fleet


def travel(rt: Runtime) -> TravelModel:
    return rt.travel


async def start(rt: Runtime) -> None:
    """Load the fleet's scripts once per process and pick the travel-time model."""
    fleet = FleetLive(rt.redis, rt.keys)
    await fleet.load()
    rt.fleet = fleet
    straight = StraightLine(road_factor=rt.settings.road_factor,
                            speeds_kmh={**StraightLine().speeds_kmh, **rt.settings.unit_speeds_kmh})
    rt.travel = (Osrm(rt.settings.osrm_url, fallback=straight)
                           if rt.settings.osrm_url else straight)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def rebuild(rt: Runtime, session: AsyncSession) -> list[OutgoingEvent]:
    """Restore every unit's live state, open job and acknowledgement deadline from the database
    (consoles reload the board on the resync notice: no event of its own)."""
    await rebuild_units(session, rt.redis, rt.keys)
    return []


async def unit_row(rt: Runtime, unit_id: str) -> dict[str, str]:
    """A unit's live state; when Redis has none, looked at again once live state is sure to be
    there (Redis may have just lost it), so a crew mid-job is not told its unit is unknown."""
    row = await live(rt).unit(unit_id)
    if not row:
        await livestate.ensure(rt)
        row = await live(rt).unit(unit_id)
    return row


def unit_scope(unit_id: str) -> Scope:
    return Scope(console=True, units=(unit_id,))


def unit_out(row: dict[str, Any], *, now_ms: int, stale_after_ms: int) -> UnitOut:
    pos_at = int(row["pos_at"]) if row.get("pos_at") else None
    return UnitOut(
        id=row["id"],
        call_sign=row["call_sign"],
        kind=row["kind"],
        capabilities=[c for c in row.get("caps", "").split(",") if c],
        post_id=row.get("post") or None,
        status=row["status"],
        lat=float(row["lat"]) if row.get("lat") else None,
        lon=float(row["lon"]) if row.get("lon") else None,
        position_at=from_ms(row.get("pos_at")),
        status_at=from_ms(row.get("status_at")),
        assignment_id=row.get("assignment") or None,
        incident_id=row.get("incident") or None,
        infectious_load=row.get("infectious") == "1",
        active=row.get("active", "1") == "1",
        # A unit that never reported is where it was loaded (its post): not flagged.
        position_stale=pos_at is not None and now_ms - pos_at > stale_after_ms,
        next_statuses=[s.value for s in states.next_statuses(
            S(row["status"]), infectious=row.get("infectious") == "1")],
    )


def stale_ms(rt: Runtime) -> int:
    return int(rt.settings.stale_position_seconds * 1000)


async def list_units(*, rt: Runtime) -> list[UnitOut]:
    """List every unit with its live state."""
    now_ms = ms(rt.clock.now())
    rows = await read_units(rt.redis, rt.keys)
    return [unit_out(r, now_ms=now_ms, stale_after_ms=stale_ms(rt)) for r in rows]


async def get_unit(*, rt: Runtime, unit_id: str) -> UnitOut:
    row = await unit_row(rt, unit_id)
    if not row:
        raise NotFound(f"no unit {unit_id!r}")
    return unit_out(row, now_ms=ms(rt.clock.now()), stale_after_ms=stale_ms(rt))


async def list_posts(*, session: AsyncSession) -> list[PostOut]:
    """List ambulance posts."""
    posts = (await session.scalars(select(Post).order_by(Post.id))).all()
    return [PostOut.model_validate(p) for p in posts]


def refused(unit_id: str, to: str, moved: Moved) -> DispatchError:
    """The error for a move the script would not make."""
    if moved.result == "unknown":
        return NotFound(f"no unit {unit_id!r}")
    if moved.result == "infectious":
        return IllegalTransition(
            f"unit {unit_id} carried an infectious patient: it must be disinfected before it is "
            "available", status_now=moved.previous, to=to)
    if moved.result == "mismatch":
        return Conflict(f"unit {unit_id} is on another job now", status_now=moved.previous,
                        assignment_id=moved.assignment or None)
    allowed = sorted(s.value for s in states.allowed_from(S(to)))
    return IllegalTransition(
        f"unit {unit_id} is {moved.previous}: it cannot go to {to}"
        + (f" (only from {', '.join(allowed)})" if allowed else ""),
        status_now=moved.previous, to=to)


TAP_SKEW = timedelta(seconds=30)  # a tablet's clock may run a little ahead
UNITS = table(Unit).c
EVENTS = table(UnitEvent).c
AT = bindparam("at", type_=UTCDateTime())


def _moving() -> Any:
    """The UPDATE of a unit's status, with the same SQL text whatever it changes: the job is
    kept unless `set_assignment`, the infectious load unless `infectious` is given."""
    return (update(table(Unit)).where(UNITS.id == bindparam("the_unit"))
            .values(status=bindparam("to"), status_at=AT,
                    assignment_id=case((bindparam("set_assignment", type_=Boolean),
                                        bindparam("job_id", type_=Uuid)),
                                       else_=UNITS.assignment_id),
                    infectious_load=func.coalesce(bindparam("infectious", type_=Boolean),
                                                  UNITS.infectious_load))
            .returning(UNITS.id, UNITS.call_sign, UNITS.lat, UNITS.lon))


def _stepping() -> Any:
    """Keep the first time of the step `step` on the job `step_job` (none: NULL); the step
    `acknowledged` is the crew taking a confirmed job (its status and time)."""
    jobs = table(Assignment).c
    step = bindparam("step", type_=String)
    taken = (step == literal_column(f"'{S.ACKNOWLEDGED.value}'")) \
        & (jobs.status == literal_column(f"'{AssignmentStatus.CONFIRMED.value}'"))
    return (update(table(Assignment)).where(jobs.id == bindparam("step_job", type_=Uuid))
            .values({**{column: case((step == literal_column(f"'{status.value}'"),
                                      func.coalesce(jobs[column], AT)),
                                     else_=jobs[column])
                        for status, column in STEP_COLUMNS.items()},
                     "status": case((taken, literal_column(f"'{AssignmentStatus.ACKNOWLEDGED.value}'")),
                                    else_=jobs.status),
                     "acknowledged_at": case((taken, AT), else_=jobs.acknowledged_at)}))


def status_statement(*along: Any, then: Callable[[Any], tuple[Any, ...]] | None = None) -> Any:
    """PostgreSQL: the unit's row, its history and the audit entry in one statement (the two
    INSERTs ride along as data-modifying CTEs, and write nothing if the unit is unknown), with
    what else a workflow writes in the same statement (`along`: CTEs). `then`, given the CTE of
    the unit's change, gives CTEs that write only if the unit moved; the row of each one that
    returns one (at most one) comes back beside the unit's, its columns named
    `<its name>_<column>` (NULL if it wrote nothing)."""
    moved = _moving().cte("moved")
    query = select(moved.c.id, moved.c.call_sign, moved.c.lat, moved.c.lon)
    if then is not None:
        written = then(moved)
        returned = [cte for cte in written if len(cte.c)]
        joined = moved
        for cte in returned:
            joined = joined.outerjoin(cte, true())
        query = query.add_columns(*(c.label(f"{cte.name}_{c.key}") for cte in returned
                                    for c in cte.c)).select_from(joined)
        along = (*along, *(cte for cte in written if not len(cte.c)))
    history = insert(table(UnitEvent)).from_select(
        ["unit_id", "at", "type", "from_status", "to_status", "actor", "data"],
        select(moved.c.id, AT, literal_column("'status'"), bindparam("previous", type_=String),
               bindparam("to", type_=String), bindparam("actor", type_=String),
               bindparam("data", type_=JSONType)))
    entries = audit.ENTRIES
    audited = audit.INSERT_ENTRY.from_select(
        ["at", "actor", "actor_role", "action", "target_type", "target_id", "source", "before", "after"],
        select(AT, bindparam("actor", type_=String), bindparam("actor_role", type_=String),
               bindparam("action", type_=String), literal_column("'unit'"), moved.c.id,
               bindparam("source", type_=String), bindparam("before", type_=entries.before.type),
               bindparam("after", type_=entries.after.type)))
    stepped = _stepping().where(select(moved.c.id).exists()).returning(literal_column("1"))
    return query.add_cte(history.cte("event"), audited.cte("audited"), stepped.cte("stepped"),
                         *along)


STATUS_PG = prebuilt(status_statement())
MOVE_KEYS = ("the_unit", "to", "at", "set_assignment", "job_id", "infectious", "step", "step_job")
MOVE_UNIT = prebuilt(_moving())
RECORD_STEP = prebuilt(_stepping())
INSERT_UNIT_EVENT = prebuilt(insert(table(UnitEvent)))


async def write_status(
    session: AsyncSession, *, unit_id: str, previous: str, to: str, at: datetime, actor: Actor,
    assignment_id: uuid.UUID | str | None = "keep", infectious: bool | None = None,
    reason: str | None = None, action: str = "unit.status", step_job: uuid.UUID | None = None,
) -> UnitRef:
    """Record a status change in PostgreSQL: the unit row, its history and the audit log (the
    UPDATE locks the row until the caller commits); one prebuilt statement on PostgreSQL.
    `step_job`: the job whose first report of this step (STEP_COLUMNS) is kept with it, or
    which the crew acknowledges (to=acknowledged: the confirmed job is taken)."""
    params, entry = status_params(unit_id=unit_id, previous=previous, to=to, at=at, actor=actor,
                                  assignment_id=assignment_id, infectious=infectious,
                                  reason=reason, action=action, step_job=step_job)
    if session.get_bind().dialect.name == "postgresql":
        row = (await session.execute(STATUS_PG, params)).first()
    else:
        moving = {k: params[k] for k in MOVE_KEYS}  # an UPDATE sets any column its keys name
        row = (await session.execute(MOVE_UNIT, moving)).first()
        if row is not None:
            await session.execute(INSERT_UNIT_EVENT, {
                "unit_id": unit_id, "at": at, "type": "status", "from_status": previous,
                "to_status": to, "actor": entry["actor"], "data": params["data"]})
            await session.execute(audit.INSERT_ENTRY, entry)
            if moving["step_job"] is not None:
                await session.execute(RECORD_STEP, moving)
    return moved_unit(row, unit_id)


def moved_unit(row: Any, unit_id: str) -> UnitRef:
    """The unit a status statement moved, from the row it returned (none: no such unit)."""
    if row is None:
        raise NotFound(f"no unit {unit_id!r}")
    return UnitRef(id=row.id, call_sign=row.call_sign, lat=row.lat, lon=row.lon)


def status_params(
    *, unit_id: str, previous: str, to: str, at: datetime, actor: Actor,
    assignment_id: uuid.UUID | str | None = "keep", infectious: bool | None = None,
    reason: str | None = None, action: str = "unit.status", step_job: uuid.UUID | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters of `status_statement`, and the audit entry they carry."""
    keep = assignment_id == "keep"
    data = {"reason": reason} if reason else {}
    entry = audit.row(actor=actor, action=action, target_type="unit", target_id=unit_id,
                      before={"status": previous}, after={"status": to, **data}, at=at)
    params: dict[str, Any] = {
        "the_unit": unit_id, "to": to, "at": at, "set_assignment": not keep,
        "job_id": None if keep or isinstance(assignment_id, str) else assignment_id,
        "infectious": infectious, "step": to,
        "step_job": step_job if to in STEP_COLUMNS or to == S.ACKNOWLEDGED else None,
        "previous": previous, "actor": entry["actor"], "data": data,
        "actor_role": entry["actor_role"], "action": entry["action"], "source": entry["source"],
        "before": entry["before"], "after": entry["after"]}
    return params, entry


def status_event(rt: Runtime, unit_id: str, previous: str, to: str, at: datetime,
                 **extra: Any) -> OutgoingEvent:
    return rt.bus.event("unit.status", {"unit_id": unit_id, "from": previous, "status": to,
                                        **extra}, scope=unit_scope(unit_id), at=at)


async def undo(rt: Runtime, unit_id: str, *, back_to: str, now_to: str, row: dict[str, str]) -> None:
    """Put a unit's live state back after the database refused the change."""
    try:
        await live(rt).move(unit_id, back_to, now_ms=int(row.get("status_at") or 0),
                            allowed=[now_to], assignment=row.get("assignment", ""),
                            incident=row.get("incident", ""), infectious=row.get("infectious", "0"))
    except Exception:  # the rebuild from PostgreSQL will correct it
        log.exception("could not undo the live status of unit %s", unit_id)




async def report_position(
    *, rt: Runtime, unit_id: str, lat: float, lon: float, at: datetime | None = None
) -> dict[str, Any]:
    """A tablet reports where its unit is; the board hears of it every few seconds."""
    now = rt.clock.now()
    at = at or now
    if at > now + TAP_SKEW:  # it would make every later fix look older: the unit would freeze
        raise InvalidInput.field("body.at", "is in the future")
    every_ms = int(rt.settings.position_publish_seconds * 1000)
    result = await live(rt).report_position(unit_id, lat, lon, at_ms=ms(at), publish_every_ms=every_ms)
    if result.result == "unknown":  # unknown, or Redis has just lost live state: look again
        await livestate.ensure(rt)
        result = await live(rt).report_position(unit_id, lat, lon, at_ms=ms(at),
                                                publish_every_ms=every_ms)
    if result.result == "unknown":
        raise NotFound(f"no unit {unit_id!r}")
    if result.publish:
        await rt.bus.publish(rt.bus.event("unit.position", {
            "unit_id": unit_id, "lat": lat, "lon": lon, "status": result.status,
            "at": at.isoformat()}, at=now))
    return {"unit_id": unit_id, "accepted": result.result == "ok",
            "ignored": "older than the last report" if result.result == "old" else None}


async def flush_positions(rt: Runtime, *, batch: int = 5000) -> int:
    """Write waiting position reports to PostgreSQL: each unit's last one and its trail."""
    from dispatch.fleet.livestate import from_ms as at_of

    reports = await live(rt).take_positions(batch)
    if not reports:
        return 0
    latest: dict[str, tuple[float, float, int]] = {}
    for unit_id, lat, lon, at in reports:
        if unit_id not in latest or latest[unit_id][2] <= at:
            latest[unit_id] = (lat, lon, at)
    async with rt.sessionmaker() as session:
        known = set((await session.scalars(select(Unit.id).where(Unit.id.in_(latest)))).all())
        trail: list[dict[str, Any]] = [
            {"unit_id": u, "at": at_of(str(at)), "type": "position", "lat": lat, "lon": lon,
             "data": {}} for u, lat, lon, at in reports if u in known]
        if trail:
            await session.execute(insert(UnitEvent), trail)
            await session.execute(update(Unit), [  # one executemany by primary key
                {"id": u, "lat": lat, "lon": lon, "position_at": at_of(str(at))}
                for u, (lat, lon, at) in latest.items() if u in known])
        await session.commit()
    return len(reports)


async def history(*, session: AsyncSession, unit_id: str, limit: int) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(UnitEvent).where(UnitEvent.unit_id == unit_id)
                                  .order_by(UnitEvent.at.desc(), UnitEvent.id.desc()).limit(limit))).all()
    return [{"at": r.at, "type": r.type, "from": r.from_status, "to": r.to_status, "lat": r.lat,
             "lon": r.lon, "actor": r.actor, "data": r.data} for r in rows]
