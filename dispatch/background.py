"""Helpers for the loops that run for the life of a process (timers, stream readers)."""

from __future__ import annotations

import asyncio
import logging
import sys

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# What a loop waits out with a warning (a server restarting, a network dropping), as opposed to
# a fault in the hub itself, which is logged as an error with its traceback.
OUTAGES = (RedisError, OSError, TimeoutError, InterfaceError, OperationalError)


def fault(log: logging.Logger, failed: str, paused: str) -> None:
    """Log the error being handled by a loop's last resort. A database connection lost under a
    statement (a server shutting down mid-commit comes as a generic DBAPIError, which SQLAlchemy
    marks as a disconnect) is an outage, waited out with a warning; anything else is a fault in
    the hub, logged with its traceback."""
    error = sys.exc_info()[1]
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        log.warning("%s (%s: the database connection was lost)", paused, type(error).__name__)
    else:
        log.exception(failed)


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
