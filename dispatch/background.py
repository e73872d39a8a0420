"""Helpers for the loops that run for the life of a process (timers, stream readers)."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError

# What a loop waits out with a warning (a server restarting, a network dropping), as opposed to
# a fault in the hub itself, which is logged as an error with its traceback.
OUTAGES = (RedisError, OSError, TimeoutError, InterfaceError, OperationalError)


def raise_if_cancelled() -> None:
    """Stop a loop whose task was asked to stop, even if a library swallowed the request.

    A cancellation that arrives while a library waits under its own timeout can come out as a
    timeout or connection error (redis-py's pool on Python 3.11 does this); a loop that logs
    it and goes round again would then hold up the shutdown for ever. Call this at the top of
    every iteration.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
