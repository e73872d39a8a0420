"""Rebuild Redis live state from PostgreSQL when Redis has lost it (restart, flush)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.background import OUTAGES, fault, raise_if_cancelled
from dispatch.realtime.schemas import OutgoingEvent
from dispatch.realtime.service import EVERYONE, RESYNC_TYPE
from dispatch.redis import Keys
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

# Restores one domain's live state from PostgreSQL; returns the events that tell consoles what
# the rebuilt state does (a ringing call offered to a position again), published after the
# resync notice.
Rebuilder = Callable[[Runtime, AsyncSession], Awaitable[Sequence[OutgoingEvent]]]
# Bumped when the shape of live state changes, so that the first instance of a new version
# rebuilds it from PostgreSQL (v2: the ringing queue's waiting and timer indexes).
LIVE = "live-v2"
LOCK_MS = 30_000


async def live_state_present(redis: Redis, keys: Keys) -> bool:
    return bool(await redis.exists(keys.marker(LIVE)))


async def rebuild(rt: Runtime, rebuilders: list[Rebuilder], *, force: bool = False) -> bool:
    """Rebuild live state unless it is present; only one instance rebuilds at a time."""
    redis, keys = rt.redis, rt.keys
    if not force and await live_state_present(redis, keys):
        return False
    lock = keys.marker("rebuilding")
    if not await redis.set(lock, "1", nx=True, px=LOCK_MS):
        for _ in range(LOCK_MS // 100):  # another instance is rebuilding: wait for it
            await asyncio.sleep(0.1)
            if await live_state_present(redis, keys):
                return False
        raise TimeoutError("another instance started a rebuild of live state and did not finish")
    events: list[OutgoingEvent] = []
    try:
        async with rt.sessionmaker() as session:
            for rebuilder in rebuilders:
                events += await rebuilder(rt, session)
        await redis.set(keys.marker(LIVE), rt.clock.now().isoformat())
    finally:
        await redis.delete(lock)
    rt.metrics.live_state_rebuilds.inc()
    log.info("live state rebuilt from the database")
    await rt.bus.publish(rt.bus.event(RESYNC_TYPE, {"reason": "live state rebuilt from the database"},
                                      scope=EVERYONE), *events)
    return True


async def ensure(rt: Runtime) -> None:
    """Make sure live state is there before trusting Redis about something it lacks: rebuild it
    now if Redis lost it (a flush, a failover, a restart), or wait for the instance rebuilding it.

    A request that finds a ringing call or a unit missing from Redis calls this and looks again,
    instead of waiting up to a second for the watch loop."""
    rebuilders = rt.rebuilders
    if not rebuilders:
        return
    try:
        await rebuild(rt, rebuilders)
    except TimeoutError as error:  # the caller goes on with what Redis has, as before
        log.warning("live state not rebuilt in time: %s", error)


async def watch(rt: Runtime, rebuilders: list[Rebuilder], *, interval: float = 1.0) -> None:
    """Keep checking that live state is present; rebuild it when Redis has lost it."""
    while True:
        raise_if_cancelled()
        await asyncio.sleep(interval)
        try:
            await rebuild(rt, rebuilders)
        except asyncio.CancelledError:
            raise
        except OUTAGES as error:
            log.warning("live state check failed (%s)", type(error).__name__)
        except Exception:
            fault(log, "live state rebuild failed", "live state check failed")
