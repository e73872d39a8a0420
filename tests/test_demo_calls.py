"""Generated calls for the demo and drills: callers across the area ring at the configured
rate and hang up when nobody answers; a supervisor rings one test call."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from dispatch.calls import generator, pattern
from dispatch.calls.models import Call, Callback
from dispatch.config import Settings
from dispatch.main import create_app
from dispatch.replay.adapters import sf
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


# --- the hour-of-day pattern (dispatch/calls/pattern.py) ------------------------------------

XIAN = ZoneInfo("Asia/Shanghai")


def test_the_pattern_is_the_bundled_sf_weeks_medical_calls_by_hour() -> None:
    weights = sf.medical_hour_weights()
    assert weights is not None, "the bundled SF week (loadtests/data/callstreams/) is missing"
    assert len(weights) == 24
    assert sum(weights) / 24 == pytest.approx(1.0)
    # 2,903 medical calls in the week: fewest before dawn, most in the early evening.
    assert min(range(24), key=lambda h: weights[h]) == 4
    assert max(range(24), key=lambda h: weights[h]) == 18
    assert weights[4] == pytest.approx(0.58, abs=0.01)
    assert weights[18] == pytest.approx(1.41, abs=0.01)
    assert sf.medical_hour_weights(Path("/nonexistent/sf.csv")) is None


def test_hourly_weights_count_each_local_hour() -> None:
    at = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 09:30 in Xi'an
    weights = pattern.hourly_weights([at, at, at + timedelta(hours=1)], XIAN)
    assert weights[9] == pytest.approx(16.0)
    assert weights[10] == pytest.approx(8.0)
    assert sum(weights) == pytest.approx(24.0)
    assert pattern.hourly_weights([], XIAN) == pattern.FLAT


def test_a_floor_lifts_quiet_hours_and_keeps_the_days_mean() -> None:
    steep = [0.1] * 6 + [1.3] * 18  # mean 1.0
    lifted = pattern.with_floor(steep, 0.5)
    assert min(lifted) == pytest.approx(0.5)
    assert sum(lifted) / 24 == pytest.approx(1.0)
    assert lifted[6] == pytest.approx((24 - 6 * 0.5) / 18)  # the busy hours give way evenly
    assert pattern.with_floor(steep, 1.0) == pattern.FLAT
    gentle = [0.8] * 12 + [1.2] * 12
    assert pattern.with_floor(gentle, 0.5) == pytest.approx(gentle)  # no hour below the floor


def test_seeded_arrivals_follow_the_hours_and_average_n_a_minute() -> None:
    """Thirty simulated days at 2 calls a minute with the SF weights (floored)."""
    weights = pattern.with_floor(sf.medical_hour_weights() or pattern.FLAT)
    arrivals = pattern.Arrivals(2.0, weights, XIAN)
    rng = random.Random(21)
    start = datetime(2026, 12, 1, tzinfo=XIAN)
    end = start + timedelta(days=30)
    now, per_hour = start, [0] * 24
    while True:
        now += timedelta(seconds=arrivals.next_wait(now, rng))
        if now >= end:
            break
        per_hour[now.astimezone(XIAN).hour] += 1
    total = sum(per_hour)
    assert total / (30 * 24 * 60) == pytest.approx(2.0, rel=0.02)  # the day's mean is N
    for hour in range(24):  # 30 days x 60 min x 2 x weight: within 10 %
        assert per_hour[hour] == pytest.approx(30 * 60 * 2.0 * weights[hour], rel=0.1), hour
    assert per_hour[18] > 2 * per_hour[4] * 0.9
    assert arrivals.rate_at(datetime(2026, 12, 7, 4, 30, tzinfo=XIAN)) == pytest.approx(2.0 * weights[4])


def test_the_first_call_rings_within_twenty_seconds_at_any_hour() -> None:
    quiet = pattern.Arrivals(0.2, pattern.with_floor(sf.medical_hour_weights() or pattern.FLAT), XIAN)
    rng = random.Random(5)
    four_am = datetime(2026, 12, 7, 4, 0, tzinfo=XIAN)
    firsts = [quiet.next_wait(four_am, rng, first=True) for _ in range(200)]
    assert max(firsts) <= pattern.FIRST_RING_SECONDS
    later = [quiet.next_wait(four_am, rng) for _ in range(200)]
    assert sum(later) / len(later) > 120  # afterwards the slow rate holds (0.2 a minute x 0.58)
    assert pattern.Arrivals(0.0, pattern.FLAT, XIAN).next_wait(four_am, rng) == float("inf")
