"""Every background loop (call clocks, queue repair, SLO figures, acknowledgement timeouts,
handover clocks, live-state watch, event archiver) runs without an ERROR on both backends: the
embedded default of `make demo` and PostgreSQL + Redis. The autouse `no_error_logged` fixture
fails the test on any ERROR line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.calls.models import Call
from dispatch.config import Settings
from dispatch.fleet.models import Assignment
from dispatch.handovers.models import Handover
from dispatch.main import create_app
from tests.conftest import TEST_SECRET
from tests.conftest import xian_hub as hub

QUICK = {"escalation_seconds": 0.5, "answer_target_seconds": 1.0, "ack_timeout_seconds": 1.0,
         "handover_target_minutes": 0.02, "handover_repeat_minutes": 0.02,
         "background_tasks": True}


async def until(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "the loop never got there"
        await asyncio.sleep(0.1)


async def shift_through_every_loop(app: Any, http: httpx.AsyncClient) -> None:
    rt = app.state.runtime

    async def ok(method: str, url: str, body: Any = None) -> Any:
        reply = await http.request(method, url, json=body)
        assert reply.status_code < 300, (url, reply.text)
        return reply.json()

    async def one(model: Any, *where: Any) -> Any:
        async with rt.sessionmaker() as session:
            return (await session.scalars(select(model).where(*where))).first()

    call = await ok("POST", "/api/v1/calls", {"telephony_call_id": "loops-1", "line": "120-1",
                                               "rung_at": rt.clock.now().isoformat()})
    # Nobody is ready: the call escalates, then breaches the target.
    breached = await until(lambda: one(Call, Call.telephony_id == "loops-1",
                                       Call.breached_at.is_not(None)))
    assert breached.escalated_at is not None
    await ok("POST", "/api/v1/positions/P01/login", {"user": "loops", "ready": True})
    answered = await ok("POST", f"/api/v1/calls/{call['id']}/answer", {"position_id": "P01"})
    assert answered["status"] == "answered"
    incident = await ok("POST", "/api/v1/incidents", {
        "call_id": call["id"], "location": {"lat": 34.2, "lon": 108.88},
        "severity": "urgent", "category": "ordinary", "complaint": "fall"})
    best = await ok("GET", f"/api/v1/incidents/{incident['id']}/recommendations")
    first = best["candidates"][0]["unit_id"]
    await ok("POST", "/api/v1/assignments", {"incident_id": incident["id"], "unit_id": first})
    # The crew never acknowledges: released when the deadline passes.
    await until(lambda: one(Assignment, Assignment.unit_id == first,
                            Assignment.status == "timed_out"))
    best = await ok("GET", f"/api/v1/incidents/{incident['id']}/recommendations")
    unit = best["candidates"][0]["unit_id"]
    job = await ok("POST", "/api/v1/assignments", {"incident_id": incident["id"], "unit_id": unit})
    await ok("POST", f"/api/v1/assignments/{job['id']}/acknowledge", {})
    await ok("POST", f"/api/v1/units/{unit}/position", {"lat": 34.21, "lon": 108.89})
    for to in ("en_route", "on_scene", "transporting", "at_hospital"):
        await ok("POST", f"/api/v1/units/{unit}/status", {"status": to})
    # Nobody at the hospital confirms: the handover clock escalates it.
    overdue = await until(lambda: one(Handover, Handover.unit_id == unit,
                                      Handover.overdue_level > 0))
    assert overdue.status == "arrived"
    await asyncio.sleep(5.5)  # the SLO figures and the queue repair have had their turn too


@pytest.mark.slow
async def test_every_loop_on_the_embedded_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, **QUICK)
    assert settings.embedded
    async with hub(create_app(settings)) as (app, http):
        await shift_through_every_loop(app, http)


@pytest.mark.slow
@pytest.mark.committed
async def test_every_loop_on_postgresql_and_redis(make_app: Callable[..., Any]) -> None:
    async with hub(make_app(**QUICK)) as (app, http):
        await shift_through_every_loop(app, http)
