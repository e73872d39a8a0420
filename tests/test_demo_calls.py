"""Generated calls for the demo and drills: callers across the area ring at the configured
rate and hang up when nobody answers; a supervisor rings one test call."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.calls import generator
from dispatch.calls.models import Call, Callback
from dispatch.config import Settings
from dispatch.main import create_app
from dispatch.travel import haversine_km
from dispatch.zones.models import SubDistrict
from tests.conftest import TEST_SECRET, token_for
from tests.conftest import xian_hub as hub
from tests.test_background_loops import until


async def test_the_demo_rings_calls_from_the_area_and_callers_hang_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, background_tasks=True,
                        demo_calls_per_minute=240)
    async with hub(create_app(settings)) as (app, _):
        rt = app.state.runtime

        async def rung() -> list[Call]:
            async with rt.sessionmaker() as session:
                return list((await session.scalars(select(Call))).all())

        calls = await until(lambda: _at_least(rung, 3), seconds=20)
        async with rt.sessionmaker() as session:
            areas = (await session.scalars(select(SubDistrict))).all()
        for call in calls:
            assert call.line == "demo"
            assert any(haversine_km(call.carrier_lat, call.carrier_lon, a.lat, a.lon)
                       <= a.radius_km + 0.01 for a in areas)
        # A caller nobody answers hangs up, and is owed a callback.
        await generator.hang_up_if_unanswered(rt, calls[0].id, 0.01)
        async with rt.sessionmaker() as session:
            callback = (await session.scalars(select(Callback).where(
                Callback.call_id == calls[0].id))).one()
        assert callback.status == "pending"


async def _at_least(rung: Any, count: int) -> list[Call] | None:
    calls: list[Call] = await rung()
    return calls if len(calls) >= count else None


def test_callers_come_from_where_people_live() -> None:
    big = SubDistrict(id="big", name="Big", population=900_000, lat=34.0, lon=108.0, radius_km=2)
    small = SubDistrict(id="small", name="Small", population=100_000, lat=35.0, lon=109.0,
                        radius_km=2)
    rng = random.Random(7)
    points = [generator.somewhere([big, small], rng) for _ in range(2000)]
    near_big = sum(1 for p in points if p is not None and abs(p[0] - 34.0) < 0.05)
    assert 0.86 < near_big / len(points) < 0.94
    assert all(p is not None and (abs(p[0] - 34.0) < 0.02 or abs(p[0] - 35.0) < 0.02)
               for p in points)
    assert generator.somewhere([], rng) is None


async def test_a_supervisor_rings_a_test_call(app: Any, client: httpx.AsyncClient,
                                               xian: Any) -> None:
    supervisor = {"Authorization": f"Bearer {token_for('supervisor')}"}
    call_taker = {"Authorization": f"Bearer {token_for('call_taker')}"}
    rung = await client.post("/api/v1/calls/test", headers=supervisor)
    refused = await client.post("/api/v1/calls/test", headers=call_taker)
    assert rung.status_code == 201, rung.text
    assert rung.json()["line"] == "test"
    assert rung.json()["status"] == "ringing"
    assert refused.status_code == 403
    await asyncio.sleep(0)


@pytest.mark.logs_errors
async def test_the_generator_goes_on_after_a_failure_and_stops_its_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_error_logged: Any
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, background_tasks=False,
                        demo_calls_per_minute=600)
    async with hub(create_app(settings)) as (app, _):
        rt = app.state.runtime
        real = generator.ring_one
        failures = iter([ValueError("a fault in the hub")])

        async def flaky(*args: Any, **kwargs: Any) -> Call:
            for failure in failures:
                raise failure
            return await real(*args, **kwargs)

        monkeypatch.setattr(generator, "ring_one", flaky)
        task = asyncio.create_task(generator.run(rt, rng=random.Random(3)))

        async def rung() -> list[Call] | None:
            async with rt.sessionmaker() as session:
                calls = list((await session.scalars(select(Call))).all())
            return calls or None

        await until(rung, seconds=20)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [r.getMessage() for r in no_error_logged.records] == [
        "demo call generator failed; going on"]
