"""Configuration versions shared by every instance, and the per-process caches that follow them.

Zones, hospitals and the active rule set are read on every routing decision, so each process
keeps them compiled in memory (`rt.caches`). Every change bumps a counter in the Redis hash
`keys.versions` after its transaction commits; a cache compares its counter before use and
reloads from the database when it differs, so a change is seen by the next decision on every
instance. If Redis cannot be read the cache keeps serving, reloading at least every `max_age`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Generic, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.redis import Keys
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

ZONES = "zones"
HOSPITALS = "hospitals"
RULES = "rules"

T = TypeVar("T")
Loader = Callable[[AsyncSession], Awaitable[T]]


class _Unknown:
    """The version could not be read (Redis unreachable)."""


UNKNOWN = _Unknown()
Version = str | None | _Unknown


@cache
def _bump_source() -> str:
    return resources.files("dispatch").joinpath("bump_versions.lua").read_text(encoding="utf-8")


async def bump(redis: Redis, keys: Keys, *fields: str) -> dict[str, int]:
    """Move the named counters forward; call after the change has committed."""
    if not fields:
        return {}
    script = redis.register_script(_bump_source())
    floor = time.time_ns() // 1_000  # microseconds: far ahead of any count of bumps
    values = await script(keys=[keys.versions], args=[floor, *fields])
    return {name: int(value) for name, value in zip(fields, values, strict=True)}


async def read(redis: Redis, keys: Keys, *fields: str) -> dict[str, Version]:
    """The current counters (None when never bumped, UNKNOWN when Redis cannot be read)."""
    try:
        values = await redis.hmget(keys.versions, list(fields))  # type: ignore[misc]
    except (RedisError, OSError) as error:
        log.warning("cannot read configuration versions (%s); serving cached copies",
                    type(error).__name__)
        return dict.fromkeys(fields, UNKNOWN)
    return {name: None if value is None else str(value)
            for name, value in zip(fields, values, strict=True)}


@dataclass
class VersionedCache(Generic[T]):
    """One compiled copy of some configuration, reloaded when its counter moves."""

    counter: str
    loader: Loader[T]
    max_age: float = 60.0
    value: T | None = None
    version: str | None = None
    loaded_at: float = float("-inf")
    loads: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def fresh(self, version: Version) -> bool:
        if self.value is None:
            return False
        if time.monotonic() - self.loaded_at > self.max_age:
            return False
        return isinstance(version, _Unknown) or version == self.version

    async def get(self, rt: Runtime, *, session: AsyncSession | None = None) -> T:
        """The cached value, reloaded first if any instance changed it since."""
        version = (await read(rt.redis, rt.keys, self.counter))[self.counter]
        return await self.get_at(rt, version, session=session)

    async def get_at(
        self, rt: Runtime, version: Version, *, session: AsyncSession | None = None
    ) -> T:
        """The cached value for a counter already read (see `read`), reloaded if stale."""
        if self.fresh(version):
            return cast(T, self.value)
        async with self.lock:
            if self.fresh(version):
                return cast(T, self.value)
            if session is None:
                async with rt.sessionmaker() as own:
                    value = await self.loader(own)
            else:
                value = await self.loader(session)
            self.value = value
            self.version = None if isinstance(version, _Unknown) else version
            self.loaded_at = time.monotonic()
            self.loads += 1
            return value


def cache_of(rt: Runtime, name: str, counter: str, loader: Loader[T]) -> VersionedCache[T]:
    """The process's cache called `name`, created on first use (kept in `rt.caches`)."""
    key = "cache:" + name
    existing = rt.caches.get(key)
    if existing is None:
        existing = rt.caches[key] = VersionedCache(counter=counter, loader=loader)
    return cast(VersionedCache[T], existing)
