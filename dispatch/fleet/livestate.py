"""Live unit state in Redis: one hash per unit and a GEO set of available units."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.fleet.models import Post, Unit, UnitStatus
from dispatch.redis import Keys


def to_ms(at: datetime | None) -> str:
    return "" if at is None else str(int(at.timestamp() * 1000))


def from_ms(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def unit_hash(unit: Unit, *, lat: float | None, lon: float | None) -> dict[str, str]:
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
        "assignment": "" if unit.assignment_id is None else str(unit.assignment_id),
        "incident": "",
        "infectious": "1" if unit.infectious_load else "0",
        "active": "1" if unit.active else "0",
    }


async def write_units(
    redis: Redis, keys: Keys, units: Iterable[Unit], posts: dict[str, Post]
) -> int:
    """Write units' last known state from PostgreSQL into Redis."""
    count = 0
    async with redis.pipeline(transaction=False) as pipe:
        for unit in units:
            lat, lon = unit.lat, unit.lon
            if (lat is None or lon is None) and unit.post_id in posts:
                post = posts[unit.post_id]
                lat, lon = post.lat, post.lon
            pipe.delete(keys.unit(unit.id))
            pipe.hset(keys.unit(unit.id), mapping=unit_hash(unit, lat=lat, lon=lon))  # type: ignore[arg-type]
            pipe.sadd(keys.units, unit.id)
            if unit.active and unit.status == UnitStatus.AVAILABLE and lat is not None and lon is not None:
                pipe.geoadd(keys.available_geo, (lon, lat, unit.id))
            else:
                pipe.zrem(keys.available_geo, unit.id)
            count += 1
        await pipe.execute()
    return count


async def rebuild_units(session: AsyncSession, redis: Redis, keys: Keys) -> int:
    """Replace the live state of every unit with its last state in PostgreSQL."""
    units = (await session.scalars(select(Unit))).all()
    posts = {p.id: p for p in (await session.scalars(select(Post))).all()}
    await redis.delete(keys.units, keys.available_geo)
    return await write_units(redis, keys, units, posts)


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
