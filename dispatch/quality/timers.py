"""The quality timer: warn consoles when a sub-district falls out of the service radius of every
available ambulance, and when it is covered again (once, from whichever instance sees it)."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dispatch.background import raise_if_cancelled
from dispatch.quality import coverage
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0


async def check(rt: Runtime) -> tuple[list[str], list[str]]:
    """Emit a warning for each sub-district newly out of cover, and a notice for each covered
    again; return both lists of ids."""
    async with rt.sessionmaker() as session:
        now = await coverage.coverage(session=session, rt=rt)
    key = rt.keys.radius_alerts
    lost, regained = [], []
    for area in now.areas:
        data = area.model_dump()
        if area.out_of_cover:
            if await rt.redis.sadd(key, area.sub_district_id):  # type: ignore[misc]
                lost.append(area.sub_district_id)
                await rt.bus.emit("coverage.warning", {
                    **data, "message": f"{area.name}: {area.covered_share:.0%} within "
                                       f"{area.radius_km:g} km of an available ambulance",
                    "alert": {"audience": "dispatcher", "level": "warning",
                              "reason": "out of the service radius"}})
        elif await rt.redis.srem(key, area.sub_district_id):  # type: ignore[misc]
            regained.append(area.sub_district_id)
            await rt.bus.emit("coverage.restored", data)
    return lost, regained


async def run(rt: Runtime) -> None:
    while True:
        raise_if_cancelled()
        await asyncio.sleep(TICK_SECONDS)
        try:
            await check(rt)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, SQLAlchemyError) as error:
            log.warning("quality timer paused (%s)", type(error).__name__)
        except Exception:
            log.exception("quality timer failed")
