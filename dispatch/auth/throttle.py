"""Login throttling: too many failed logins lock out the account, or the address they come
from, for a while. A lockout is written to the audit log; a correct password does not lift it.

Counters live in Redis (shared by every instance). The lockout holds the hub-clock time it ends
at, so it ends by the hub's clock; Redis expiries only collect the keys. When Redis cannot be
reached, logins are not throttled: a centre must be able to sign in during an outage.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from dispatch.errors import RateLimited
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lockout:
    """A lockout that has just begun: who (an account or an address) and until when."""

    kind: str  # "user" or "source"
    until: datetime


def _keys(rt: Runtime, kind: str, who: str) -> tuple[str, str]:
    # One hash tag for every counter, so that a Redis Cluster runs the MGET and the
    # transactions below (logins are few: one slot carries them all).
    base = f"{rt.keys.prefix}:{{auth}}:throttle:{kind}:{who}"
    return base + ":failures", base + ":locked-until"


def _subjects(username: str, source: str | None) -> list[tuple[str, str]]:
    return [("user", username), *([("source", source)] if source else [])]


async def check(*, rt: Runtime, username: str, source: str | None) -> None:
    """Raise RateLimited while the account or the address is locked out."""
    now = rt.clock.now().timestamp()
    subjects = _subjects(username, source)
    try:
        ends = await rt.redis.mget([_keys(rt, kind, who)[1] for kind, who in subjects])
    except (RedisError, OSError):
        log.warning("login throttle unreadable; not throttling")
        return
    for (kind, _), end in zip(subjects, ends, strict=True):
        if end is not None and float(end) > now:
            wait = math.ceil(float(end) - now)
            what = "this account" if kind == "user" else "this address"
            raise RateLimited(f"too many failed logins for {what}: try again in {wait} s",
                              retry_after=wait)


async def failed(*, rt: Runtime, username: str, source: str | None) -> list[Lockout]:
    """Count a failed login; return the lockouts it starts (to be audited)."""
    settings = rt.settings
    limits = {"user": settings.login_failures_per_user,
              "source": settings.login_failures_per_source}
    now = rt.clock.now()
    started: list[Lockout] = []
    try:
        for kind, who in _subjects(username, source):
            failures, locked = _keys(rt, kind, who)
            async with rt.redis.pipeline(transaction=True) as pipe:
                pipe.incr(failures)
                pipe.expire(failures, settings.login_failure_window_seconds)
                count, _ = await pipe.execute()
            if int(count) >= limits[kind]:
                until = now.timestamp() + settings.login_lockout_seconds
                async with rt.redis.pipeline(transaction=True) as pipe:
                    pipe.set(locked, str(until), ex=settings.login_lockout_seconds + 60)
                    pipe.delete(failures)
                    await pipe.execute()
                started.append(Lockout(kind, datetime.fromtimestamp(until, now.tzinfo)))
    except (RedisError, OSError):
        log.warning("login throttle unwritable; not throttling")
    return started


async def succeeded(*, rt: Runtime, username: str) -> None:
    """A correct password clears the account's failure count."""
    try:
        await rt.redis.delete(_keys(rt, "user", username)[0])
    except (RedisError, OSError):
        log.warning("login throttle unwritable")
