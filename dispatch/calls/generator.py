"""Calls for a demo or a drill: a caller rings from somewhere in the area (sub-districts
weighted by their population, seed 000) and hangs up if nobody answers in time.

`make demo` runs the generator when DISPATCH_DEMO_CALLS_PER_MINUTE is set (`dispatch demo
--calls-per-minute N`): arrivals are a Poisson process whose rate follows the hour of the day
as the bundled San Francisco week does (calls/pattern.py), N a minute on average over the day,
never below half of N, the first call within 20 s. Generated calls are the demo's traffic and
count in every figure. A supervisor's "test call" button rings one call marked as a test.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from dispatch.audit.schemas import Actor
from dispatch.background import OUTAGES, fault, raise_if_cancelled
from dispatch.calls import pattern, service
from dispatch.calls.enums import CallStatus
from dispatch.calls.models import Call
from dispatch.calls.schemas import CallIn, CarrierLocation
from dispatch.errors import DispatchError
from dispatch.places.hours import zone_info
from dispatch.runtime import Runtime
from dispatch.travel import moved
from dispatch.zones.models import SubDistrict

log = logging.getLogger(__name__)

GENERATOR = Actor(name="hub:demo-calls", role=None, source="demo")
PATIENCE_SECONDS = (40.0, 120.0)  # a caller nobody answers hangs up within this


def somewhere(areas: list[SubDistrict], rng: random.Random) -> tuple[float, float] | None:
    """A point in a sub-district drawn by population, uniform within its radius."""
    if not areas:
        return None
    area = rng.choices(areas, weights=[max(a.population, 1) for a in areas])[0]
    distance = area.radius_km * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = moved(area.lat, area.lon, distance * math.cos(bearing), distance * math.sin(bearing))
    return round(lat, 6), round(lon, 6)


async def areas_of(rt: Runtime) -> list[SubDistrict]:
    async with rt.sessionmaker() as session:
        return list((await session.scalars(select(SubDistrict))).all())


async def ring_one(rt: Runtime, *, actor: Actor, line: str, rng: random.Random,
                   areas: list[SubDistrict] | None = None, test: bool = False) -> Call:
    """Ring one generated call (a mobile caller with a carrier location) and return it; a
    `test` call is left out of the answer figures and the quality indicators."""
    at = somewhere(areas if areas is not None else await areas_of(rt), rng)
    async with rt.sessionmaker() as session:
        body = CallIn(
            telephony_call_id=f"demo-{uuid.uuid4().hex[:16]}",
            caller_number=f"13{rng.randrange(10**8, 10**9)}", line=line, rung_at=rt.clock.now(),
            carrier_location=CarrierLocation(lat=at[0], lon=at[1], accuracy_m=50) if at else None)
        call, _ = await service.receive_call(session=session, rt=rt, body=body, actor=actor,
                                             test=test)
    return call


async def hang_up_if_unanswered(rt: Runtime, call_id: uuid.UUID, patience: float) -> None:
    """The caller gives up after `patience` seconds unless someone answered meanwhile."""
    await asyncio.sleep(patience)
    try:
        async with rt.sessionmaker() as session:
            status = await session.scalar(select(Call.status).where(Call.id == call_id))
            if status == CallStatus.RINGING:
                await service.abandon_call(session=session, rt=rt, ref=str(call_id), at=None,
                                           actor=GENERATOR)
    except DispatchError:  # answered at the last moment
        return
    except OUTAGES as error:
        log.warning("demo caller could not hang up (%s)", type(error).__name__)


def caller_gives_up(rt: Runtime, call: Call, rng: random.Random, callers: set[asyncio.Task[Any]]) -> None:
    """Let a generated caller hang up if nobody answers (the task is kept until it ends)."""
    task = asyncio.create_task(hang_up_if_unanswered(rt, call.id, rng.uniform(*PATIENCE_SECONDS)))
    callers.add(task)
    task.add_done_callback(callers.discard)


Weights = Callable[[], tuple[float, ...] | None]


async def arrivals_of(rt: Runtime, hourly: Weights | None = None) -> pattern.Arrivals:
    """The demo's arrival process: the hours `hourly` reads (the SF week's, wired in main.py),
    or a flat rate without them."""
    weights = await asyncio.to_thread(hourly) if hourly is not None else pattern.FLAT
    if weights is None:
        log.warning("the bundled SF call stream is not there: demo calls at a flat rate")
        weights = pattern.FLAT
    return pattern.Arrivals(rt.settings.demo_calls_per_minute, pattern.with_floor(weights),
                            zone_info(rt.settings.timezone))


async def run(rt: Runtime, *, rng: random.Random | None = None, hourly: Weights | None = None) -> None:
    """The demo's callers: ring at the configured mean rate, following the hour of the day,
    for the life of the process."""
    if rt.settings.demo_calls_per_minute <= 0:
        return
    rng = rng or random.Random()
    arrivals = await arrivals_of(rt, hourly)
    callers: set[asyncio.Task[Any]] = set()
    first = True
    try:
        while True:
            raise_if_cancelled()
            await asyncio.sleep(arrivals.next_wait(rt.clock.now(), rng, first=first))
            first = False
            try:
                areas = await areas_of(rt)
                if not areas:  # no area loaded yet: nobody to call from
                    continue
                call = await ring_one(rt, actor=GENERATOR, line="demo", rng=rng, areas=areas)
            except asyncio.CancelledError:
                raise
            except OUTAGES as error:
                log.warning("demo call not rung (%s)", type(error).__name__)
                continue
            except Exception:
                fault(log, "demo call generator failed; going on", "demo call not rung")
                continue
            caller_gives_up(rt, call, rng, callers)
    finally:
        for task in callers:
            task.cancel()
