"""Fleet services: units, posts and their live state."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.fleet.livestate import from_ms, read_units
from dispatch.fleet.models import Post
from dispatch.fleet.schemas import PostOut, UnitOut
from dispatch.redis import Keys


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
        position_stale=pos_at is not None and now_ms - pos_at > stale_after_ms,
    )


async def list_units(
    *, redis: Redis, keys: Keys, now_ms: int, stale_after_ms: int
) -> list[UnitOut]:
    """List every unit with its live state."""
    rows = await read_units(redis, keys)
    return [unit_out(r, now_ms=now_ms, stale_after_ms=stale_after_ms) for r in rows]


async def list_posts(*, session: AsyncSession) -> list[PostOut]:
    """List ambulance posts."""
    posts = (await session.scalars(select(Post).order_by(Post.id))).all()
    return [PostOut.model_validate(p) for p in posts]
