"""The fleet timer: acknowledgement deadlines, position history, area coverage."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dispatch.background import raise_if_cancelled
from dispatch.fleet import coverage
from dispatch.fleet.service import flush_positions, live, ms
from dispatch.runtime import Runtime
from dispatch.workflows import unit_status

log = logging.getLogger(__name__)
TICK_SECONDS = 0.5
SLOW_EVERY = 2  # positions and coverage once a second


async def tick(rt: Runtime) -> list[str]:
    """Release every unit whose crew let the acknowledgement deadline pass."""
    released = []
    for unit_id in await live(rt).due_acks(ms(rt.clock.now())):
        if await unit_status.time_out(rt, unit_id):
            released.append(unit_id)
    return released


async def run(rt: Runtime) -> None:
    count = 0
    while True:
        raise_if_cancelled()
        await asyncio.sleep(TICK_SECONDS)
        count += 1
        try:
            await tick(rt)
            if count % SLOW_EVERY == 0:
                await flush_positions(rt)
                await coverage.check(rt)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, SQLAlchemyError) as error:
            log.warning("fleet timer paused (%s)", type(error).__name__)
        except Exception:
            log.exception("fleet timer failed")
