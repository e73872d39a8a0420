"""Coverage: available units in each post's area against the population it protects (seed 000).

Posts that share a sub-district cover one area together (丈八街道 is covered by two posts with
two crews each), so areas are the connected groups of posts and their sub-districts. An area
whose last available unit leaves is uncovered: every console hears of it once, from whichever
instance saw it happen, and again when a unit is back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.fleet.enums import UnitStatus
from dispatch.fleet.models import Post
from dispatch.fleet.schemas import CoverageArea, CoverageOut
from dispatch.fleet.service import live
from dispatch.runtime import Runtime
from dispatch.zones.models import SubDistrict


def areas_of(posts: list[Post]) -> list[tuple[list[str], list[str]]]:
    """Group posts that share a sub-district: [(post ids, sub-district ids)]."""
    parent = {p.id: p.id for p in posts}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for post in posts:
        for sub in post.sub_district_ids:
            if sub in owner:
                parent[root(post.id)] = root(owner[sub])
            else:
                owner[sub] = post.id
    groups: dict[str, tuple[list[str], set[str]]] = {}
    for post in posts:
        ids, subs = groups.setdefault(root(post.id), ([], set()))
        ids.append(post.id)
        subs.update(post.sub_district_ids)
    return [(sorted(ids), sorted(subs)) for ids, subs in groups.values()]


async def coverage(*, session: AsyncSession, rt: Runtime) -> CoverageOut:
    """Per post area: population, crews, units and how many are available now."""
    posts = list((await session.scalars(select(Post).order_by(Post.id))).all())
    population = {s.id: s.population for s in (await session.scalars(select(SubDistrict))).all()}
    rows = await live(rt).board()
    units_at: dict[str, int] = {}
    available_at: dict[str, int] = {}
    for row in rows:
        if row.get("active") != "1" or not row.get("post"):
            continue
        units_at[row["post"]] = units_at.get(row["post"], 0) + 1
        if row["status"] == UnitStatus.AVAILABLE:
            available_at[row["post"]] = available_at.get(row["post"], 0) + 1
    crews_of = {p.id: p.crews for p in posts}
    areas = []
    for post_ids, subs in areas_of(posts):
        people = sum(population.get(s, 0) for s in subs)
        crews = sum(crews_of[p] for p in post_ids)
        units = sum(units_at.get(p, 0) for p in post_ids)
        available = sum(available_at.get(p, 0) for p in post_ids)
        areas.append(CoverageArea(
            id="+".join(post_ids), posts=post_ids, sub_districts=subs, population=people,
            crews=crews, population_per_crew=people // crews if crews else None, units=units,
            available=available,
            population_per_available_unit=people // available if available else None,
            uncovered=units > 0 and available == 0,
        ))
    uncovered = [a.id for a in areas if a.uncovered]
    rt.metrics.units_uncovered.set(len(uncovered))
    return CoverageOut(areas=areas, uncovered=uncovered)


async def check(rt: Runtime) -> None:
    """Warn consoles of areas newly left uncovered, and of areas covered again."""
    async with rt.sessionmaker() as session:
        now = await coverage(session=session, rt=rt)
    key = rt.keys.coverage_alerts
    for area in now.areas:
        if area.uncovered:
            if await rt.redis.sadd(key, area.id):  # type: ignore[misc]
                await rt.bus.emit("coverage.warning", {
                    **area.model_dump(), "alert": {"audience": "dispatcher", "level": "warning",
                                                   "reason": "no available unit left in the area"}})
        elif await rt.redis.srem(key, area.id):  # type: ignore[misc]
            await rt.bus.emit("coverage.restored", area.model_dump())
