"""The hospital timer: handover clocks past the target, and scheduled suspensions."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dispatch.background import raise_if_cancelled
from dispatch.handovers.service import overdue_tick
from dispatch.runtime import Runtime
from dispatch.workflows.suspension import apply_scheduled

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0


async def run(rt: Runtime) -> None:
    while True:
        raise_if_cancelled()
        await asyncio.sleep(TICK_SECONDS)
        try:
            await overdue_tick(rt)
            await apply_scheduled(rt)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, SQLAlchemyError) as error:
            log.warning("hospital timer paused (%s)", type(error).__name__)
        except Exception:
            log.exception("hospital timer failed")
