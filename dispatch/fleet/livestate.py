"""Live unit state in Redis: one hash per unit and a GEO set of available units.

Every change that touches more than one key is a Lua script in `lua/`, so two dispatchers on
two instances can never both take a unit. PostgreSQL stays the system of record; `rebuild_units`
restores this state from it after a restart or a flush.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.fleet.enums import AssignmentStatus, UnitStatus
from dispatch.fleet.models import Assignment, Post, Unit
from dispatch.redis import Keys

SCRIPTS = ("transition", "position", "board", "rank")
KEEP = "*"
POSITION_LOG_LIMIT = 200_000  # reports waiting to be written to PostgreSQL
BOARD_FIELDS = ("status", "kind", "caps", "lat", "lon", "pos_at", "active", "infectious", "post",
                "assignment", "call_sign", "incident", "status_at")


def to_ms(at: datetime | None) -> str:
    return "" if at is None else str(int(at.timestamp() * 1000))


def from_ms(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Moved:
    """The answer of the transition script."""

    result: str  # ok | unknown | illegal | mismatch | infectious
    previous: str
    assignment: str
    row: dict[str, str]  # the unit's live state after an ok move (empty otherwise)
    # What an undo puts back besides the status (ok moves): status_at, assignment, incident,
    # infectious — the unit's live state before, as far as a move changes it.
    before: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result == "ok"


@dataclass(frozen=True, slots=True)
class Ranked:
    considered: int  # units looked at, nearest first, until no farther one could be faster
    fleet: int
    candidates: list[list[str]]  # id, call sign, kind, caps, post, pos_at, lat, lon, km, seconds
    excluded: list[list[str]]  # id, call sign, reason
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Reported:
    result: str  # ok | old | unknown
    status: str
    publish: bool


class FleetLive:
    """The Redis side of the fleet; one per process, scripts loaded once."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        folder = resources.files("dispatch.fleet").joinpath("lua")
        self.scripts: dict[str, AsyncScript] = {
            name: redis.register_script(folder.joinpath(f"{name}.lua").read_text())
            for name in SCRIPTS
        }

    async def load(self) -> None:
        for script in self.scripts.values():
            await self.redis.script_load(script.script)

    async def move(
        self, unit_id: str, to: str, *, now_ms: int, allowed: Iterable[str], expect: str = KEEP,
        assignment: str = KEEP, incident: str = KEEP, deadline: str = KEEP,
        infectious: str = KEEP, needs_clean: bool = False,
    ) -> Moved:
        """Change a unit's status atomically when it is in one of `allowed` (see transition.lua)."""
        k = self.keys
        out = await self.scripts["transition"](
            keys=[k.unit(unit_id), k.available_geo, k.ack_deadlines],
            args=[unit_id, to, now_ms, ",".join(sorted(allowed)), expect, assignment, incident,
                  deadline, infectious, int(needs_clean)])
        if out[0] != "ok":
            return Moved(str(out[0]), str(out[1]), str(out[2]), {})
        flat = [str(item) for item in out[6:]]
        before = {"status_at": str(out[3]), "assignment": str(out[2]), "incident": str(out[4]),
                  "infectious": str(out[5])}
        return Moved("ok", str(out[1]), str(out[2]), dict(zip(flat[::2], flat[1::2], strict=True)),
                     before)

    async def report_position(
        self, unit_id: str, lat: float, lon: float, *, at_ms: int, publish_every_ms: int
    ) -> Reported:
        k = self.keys
        out = await self.scripts["position"](
            keys=[k.unit(unit_id), k.available_geo, k.position_log, k.fleet_geo],
            args=[unit_id, repr(lat), repr(lon), at_ms, publish_every_ms, POSITION_LOG_LIMIT])
        return Reported(str(out[0]), str(out[1]), out[2] == 1)

    async def board(self) -> list[dict[str, str]]:
        """Every unit's live state (unsorted)."""
        packed = await self.scripts["board"](keys=[self.keys.units], args=[self.keys.unit("")])
        names = ("id", *BOARD_FIELDS)
        return [dict(zip(names, str(line).split("\x1f"), strict=True)) for line in packed]

    async def rank(
        self, lat: float, lon: float, *, required: Sequence[str], skip: Iterable[str], limit: int,
        road_factor: float, speeds: dict[str, float], default_speed: float, listed: int,
    ) -> Ranked:
        """Rank units by straight-line ETA inside Redis (see rank.lua): one round trip."""
        out = await self.scripts["rank"](keys=[self.keys.units, self.keys.fleet_geo], args=[
            self.keys.unit(""), repr(lat), repr(lon), ",".join(required), ",".join(skip), limit,
            road_factor, ",".join(f"{k}={v}" for k, v in speeds.items()), default_speed, listed])
        parts: list[list[list[str]]] = [[]]
        for item in out[2:]:
            if item == "":
                parts.append([])
            else:
                parts[-1].append(str(item).split("\x1f"))
        candidates, excluded, counts = parts
        return Ranked(int(out[0]), int(out[1]), candidates, excluded, {r: int(n) for r, n in counts})

    async def unit(self, unit_id: str) -> dict[str, str]:
        row = await self.redis.hgetall(self.keys.unit(unit_id))  # type: ignore[misc]
        return {str(k): str(v) for k, v in row.items()}

    async def due_acks(self, now_ms: int, limit: int = 100) -> list[str]:
        ids = await self.redis.zrangebyscore(self.keys.ack_deadlines, "-inf", now_ms, 0, limit)
        return [str(i) for i in ids]

    async def take_positions(self, count: int) -> list[tuple[str, float, float, int]]:
        raw = await self.redis.lpop(self.keys.position_log, count)  # type: ignore[misc]
        out = []
        for line in raw or []:
            unit_id, lat, lon, at = str(line).split(" ")
            out.append((unit_id, float(lat), float(lon), int(at)))
        return out


def unit_hash(unit: Unit, *, lat: float | None, lon: float | None,
              incident: str = "") -> dict[str, str]:
    return {
        "id": unit.id,
        "call_sign": unit.call_sign,
        "kind": unit.kind,
        "caps": ",".join(unit.capabilities),
        "post": unit.post_id or "",
        "status": unit.status,
        "status_at": to_ms(unit.status_at),
        "lat": "" if lat is None else repr(lat),
        "lon": "" if lon is None else repr(lon),
        "pos_at": to_ms(unit.position_at),
        "pub_at": "",
        "assignment": "" if unit.assignment_id is None else str(unit.assignment_id),
        "incident": incident,
        "infectious": "1" if unit.infectious_load else "0",
        "active": "1" if unit.active else "0",
    }


async def write_units(
    redis: Redis, keys: Keys, units: Iterable[Unit], posts: dict[str, Post],
    open_assignments: dict[str, Assignment] | None = None,
) -> int:
    """Write units' last known state from PostgreSQL into Redis, with their open assignments."""
    open_assignments = open_assignments or {}
    count = 0
    async with redis.pipeline(transaction=False) as pipe:
        for unit in units:
            lat, lon = unit.lat, unit.lon
            if (lat is None or lon is None) and unit.post_id in posts:
                post = posts[unit.post_id]
                lat, lon = post.lat, post.lon
            job = open_assignments.get(unit.id)
            pipe.delete(keys.unit(unit.id))
            pipe.hset(keys.unit(unit.id), mapping=unit_hash(  # type: ignore[arg-type]
                unit, lat=lat, lon=lon, incident="" if job is None else str(job.incident_id)))
            pipe.sadd(keys.units, unit.id)
            if lat is not None and lon is not None:
                pipe.geoadd(keys.fleet_geo, (lon, lat, unit.id))
            if unit.active and unit.status == UnitStatus.AVAILABLE and lat is not None and lon is not None:
                pipe.geoadd(keys.available_geo, (lon, lat, unit.id))
            else:
                pipe.zrem(keys.available_geo, unit.id)
            if (job is not None and job.status == AssignmentStatus.CONFIRMED
                    and job.ack_deadline is not None):
                pipe.zadd(keys.ack_deadlines, {unit.id: int(job.ack_deadline.timestamp() * 1000)})
            else:
                pipe.zrem(keys.ack_deadlines, unit.id)
            count += 1
        await pipe.execute()
    return count


async def open_assignments(session: AsyncSession) -> dict[str, Assignment]:
    """The assignment each unit is working on (confirmed or acknowledged), by unit."""
    rows = (await session.scalars(select(Assignment).where(
        Assignment.status.in_((AssignmentStatus.CONFIRMED, AssignmentStatus.ACKNOWLEDGED))))).all()
    return {a.unit_id: a for a in rows}


async def rebuild_units(session: AsyncSession, redis: Redis, keys: Keys) -> int:
    """Replace the live state of every unit with its last state in PostgreSQL."""
    units = (await session.scalars(select(Unit))).all()
    posts = {p.id: p for p in (await session.scalars(select(Post))).all()}
    jobs = await open_assignments(session)
    await redis.delete(keys.units, keys.available_geo, keys.ack_deadlines, keys.fleet_geo)
    return await write_units(redis, keys, units, posts, jobs)


async def read_units(redis: Redis, keys: Keys) -> list[dict[str, Any]]:
    """Every unit's live hash, sorted by id."""
    ids = sorted(str(i) for i in await redis.smembers(keys.units))  # type: ignore[misc]
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for unit_id in ids:
            pipe.hgetall(keys.unit(unit_id))
        rows = await pipe.execute()
    return [row for row in rows if row]
