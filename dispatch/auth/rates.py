"""Calls a second per telephony client, counted in this instance and shared through Redis.

Counting in Redis on every call would cost each call a round trip. Each instance counts the
current second's calls itself and, at most every `SYNC_SECONDS`, adds what it counted to a
shared counter in the background and learns what the other instances counted. A client spread
over several instances may exceed the limit by what they counted since their last exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SYNC_SECONDS = 0.1


class IntakeCounter:
    """This second's calls per client: this instance's, and the others' as last heard."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.second = 0
        self.mine: dict[str, int] = {}
        self.unshared: dict[str, int] = {}
        self.others: dict[str, int] = {}
        self.last_sync = 0.0
        self._sync: asyncio.Task[None] | None = None

    def count(self, client: str, now: float | None = None) -> int:
        """Count one call from `client`; return the calls this second from it everywhere."""
        now = time.time() if now is None else now
        second = int(now)
        if second != self.second:
            self.second, self.mine, self.unshared, self.others = second, {}, {}, {}
        self.mine[client] = self.mine.get(client, 0) + 1
        self.unshared[client] = self.unshared.get(client, 0) + 1
        moment = time.monotonic()
        if (self._sync is None or self._sync.done()) and moment - self.last_sync >= SYNC_SECONDS:
            self.last_sync = moment
            self._sync = asyncio.get_running_loop().create_task(self.share(second))
        return self.mine[client] + self.others.get(client, 0)

    async def share(self, second: int) -> None:
        """Add this instance's unshared counts to the shared ones; learn the others'."""
        counts, self.unshared = self.unshared, {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for client, n in counts.items():
                    key = f"{self.prefix}:rate:intake:{client}:{second}"
                    pipe.incrby(key, n)
                    pipe.expire(key, 2)
                replies = await pipe.execute()
        except (RedisError, OSError) as error:  # the counts stay local: never refuse for it
            log.warning("intake counts not shared (%s)", type(error).__name__)
            return
        if second != self.second:
            return
        for client, total in zip(counts, replies[::2], strict=True):
            self.others[client] = max(int(total) - self.mine.get(client, 0), 0)

    async def close(self) -> None:
        if self._sync is not None:
            with contextlib.suppress(BaseException):
                await self._sync
