"""Background loops stop when asked, even when a library turns the cancellation into an error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from dispatch.calls import timers as call_timers
from dispatch.fleet import timers as fleet_timers
from dispatch.handovers import timers as hospital_timers


def swallowing(calls: list[int]) -> Any:
    """A step that, like redis-py's pool waiting under its own timeout, reports a cancellation
    as a connection error."""

    async def step(*_args: Any, **_kwargs: Any) -> None:
        calls.append(1)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RedisConnectionError("No connection available.") from None

    return step


@pytest.mark.parametrize(("module", "step"), [
    (fleet_timers, "tick"), (call_timers, "tick"), (hospital_timers, "overdue_tick"),
])
async def test_a_timer_stops_when_its_cancellation_is_swallowed(
    app: Any, monkeypatch: pytest.MonkeyPatch, module: Any, step: str
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(module, "TICK_SECONDS", 0.01)
    monkeypatch.setattr(module, step, swallowing(calls))
    task = asyncio.create_task(module.run(app.state.runtime))
    while not calls:  # the loop is inside its step once it has called it
        await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert done, "the loop went on after it was cancelled"
    assert task.cancelled()
    assert len(calls) == 1


@pytest.mark.logs_errors
def test_a_lost_database_connection_is_an_outage_and_a_bad_statement_a_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server shutting down under a commit comes as a generic DBAPIError marked as a
    disconnect: waited out with a warning. The same error not marked is a fault: an ERROR."""
    import logging

    from sqlalchemy.exc import DBAPIError

    from dispatch.background import fault

    log = logging.getLogger("dispatch.test_loop")
    for invalidated, level in ((True, logging.WARNING), (False, logging.ERROR)):
        caplog.clear()
        try:
            raise DBAPIError("COMMIT", None, Exception("terminating connection"),
                             connection_invalidated=invalidated)
        except DBAPIError:
            with caplog.at_level(logging.WARNING, logger="dispatch.test_loop"):
                fault(log, "loop failed", "loop paused")
        assert [r.levelno for r in caplog.records] == [level]
        assert caplog.records[0].getMessage().startswith("loop paused" if invalidated else "loop failed")
