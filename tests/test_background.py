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
