"""Open and close what a hub process holds: database engine, Redis, the realtime hub, timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dispatch import migrate
from dispatch.auth.rates import IntakeCounter
from dispatch.clock import Clock, SystemClock
from dispatch.config import Settings
from dispatch.db import create_engine, create_sessionmaker
from dispatch.livestate import Rebuilder, rebuild, watch
from dispatch.metrics import Metrics
from dispatch.realtime.actions import Action
from dispatch.realtime.hub import Hub
from dispatch.realtime.service import EventBus
from dispatch.redis import Keys, create_redis
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

Timer = Callable[[Runtime], Coroutine[None, None, None]]
StartupHook = Callable[[Runtime], Awaitable[None]]


class StartupError(Exception):
    """The hub cannot start; the message is one line naming the problem."""


@dataclass
class Wiring:
    """What the domains plug into the lifespan (collected in `create_app`)."""

    rebuilders: list[Rebuilder] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    startup: list[StartupHook] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate_embedded: bool = True,
    database_bind: AsyncConnection | None = None,
) -> AsyncIterator[Runtime]:
    """Connect to the database and Redis, checking both, and close them afterwards.

    `database_bind` makes every session join an open connection's transaction (tests roll
    it back afterwards).
    """
    database_url = settings.effective_database_url
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate_embedded:
            await migrate.upgrade(database_url)
    engine = create_engine(database_url, pool_size=settings.database_pool_size)
    redis = create_redis(settings.redis_url, pool_size=settings.redis_pool_size,
                         name=f"dispatch:{settings.redis_prefix}")
    try:
        await _check_database(engine, database_url)
        await _check_redis(redis, settings.redis_url)
        metrics = Metrics()
        keys = Keys(settings.redis_prefix)
        clock = clock or SystemClock()
        bus = EventBus(redis, keys, maxlen=settings.stream_maxlen, metrics=metrics, clock=clock)
        hub = Hub(redis, keys, bus, metrics, embedded=settings.redis_url is None)
        if database_bind is None:
            sessionmaker = create_sessionmaker(engine)
        else:
            sessionmaker = create_sessionmaker(database_bind, join_transaction_mode="create_savepoint")
        yield Runtime(
            settings=settings, engine=engine, sessionmaker=sessionmaker,
            redis=redis, keys=keys, clock=clock, metrics=metrics, bus=bus, hub=hub,
            intake=IntakeCounter(redis, keys.prefix),
        )
    finally:
        # Close order: Redis client (and its pool), then the database engine.
        with contextlib.suppress(Exception):
            await redis.aclose()
        await engine.dispose()


async def _check_database(engine: AsyncEngine, url: str) -> None:
    try:
        async with asyncio.timeout(10):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StartupError(
            f"DISPATCH_DATABASE_URL: cannot connect to {redact(url)}: {reason}"
        ) from None


async def _check_redis(redis: Redis, url: str | None) -> None:
    try:
        async with asyncio.timeout(5):
            await redis.ping()
    except (RedisError, RedisClusterException, OSError, TimeoutError) as error:
        reason = str(error) or type(error).__name__
        raise StartupError(f"DISPATCH_REDIS_URL: cannot connect to {url}: {reason}") from None


def build_lifespan(
    settings: Settings,
    wiring: Wiring,
    clock: Clock | None = None,
    database_bind: AsyncConnection | None = None,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, clock=clock, database_bind=database_bind) as rt:
            rt.actions = {a.name: a for a in wiring.actions}
            rt.rebuilders = wiring.rebuilders
            app.state.runtime = rt
            app.state.sessionmaker = rt.sessionmaker
            app.state.redis = rt.redis
            app.state.clock = rt.clock
            for hook in wiring.startup:
                await hook(rt)
            await rebuild(rt, wiring.rebuilders)
            await rt.hub.start()
            tasks: list[asyncio.Task[None]] = []
            if settings.background_tasks:
                tasks.append(asyncio.create_task(watch(rt, wiring.rebuilders)))
                tasks += [asyncio.create_task(timer(rt)) for timer in wiring.timers]
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(BaseException):
                        await task
                await rt.hub.stop()
                await rt.intake.close()

    return lifespan
