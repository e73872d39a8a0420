"""A supervisor's test call rings and is answered like any call, and changes no answer figure
and no quality indicator, on PostgreSQL and on the embedded SQLite default. Generated demo
calls are the demo's traffic: they count."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from dispatch.calls import generator, slo, timers
from dispatch.calls.models import Call, Callback
from dispatch.clock import ManualClock
from dispatch.config import Settings
from dispatch.main import create_app
from dispatch.quality import service as quality
from tests import factories, quality_history
from tests.conftest import TEST_SECRET, client_for, running, token_for
from tests.quality_history import History

SUPERVISOR = {"Authorization": f"Bearer {token_for('supervisor', name='sup')}"}


async def figures(app: Any, now: datetime) -> dict[str, Any]:
    """The SLO figures at `now` (without the time they were computed at)."""
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        out = (await slo.compute(session=session, rt=rt, now=now)).model_dump()
    out.pop("at")
    return out


def breaches(app: Any) -> float:
    return float(app.state.runtime.metrics.slo_breaches._value.get())


async def an_unanswered_test_call_changes_no_slo_figure(app: Any, http: httpx.AsyncClient,
                                                        clock: ManualClock) -> None:
    rt = app.state.runtime
    # Some real traffic first: one call answered after 4 s.
    assert (await http.post("/api/v1/positions/P01/login",
                            json={"user": "li.na", "ready": True})).status_code == 200
    real = (await http.post("/api/v1/calls", json={
        "telephony_call_id": "cti-real", "caller_number": "13800000001", "line": "120-1",
        "rung_at": clock.now().isoformat()})).json()
    clock.advance(4)
    assert (await http.post(f"/api/v1/calls/{real['id']}/answer",
                            json={"position_id": "P01"})).status_code == 200
    assert (await http.post(f"/api/v1/calls/{real['id']}/ended", json={})).status_code == 200
    clock.advance(10)
    later = clock.now() + timedelta(seconds=30)
    before = await figures(app, later)
    assert before["windows"][0]["calls"] == 1

    rung = await http.post("/api/v1/calls/test", headers=SUPERVISOR)
    assert rung.status_code == 201, rung.text
    test = rung.json()
    assert (test["test"], test["status"], test["line"]) == (True, "ringing", "test")
    listed = (await http.get("/api/v1/calls")).json()
    assert [c["id"] for c in listed if c["test"]] == [test["id"]]  # it rings on the console
    # Past the answer target: escalated and breached like any call, the breach not counted.
    clock.advance(30)
    before_breaches = breaches(app)
    escalated, breached = await timers.tick(rt)
    assert (escalated, breached) == ([test["id"]], [test["id"]])
    assert breaches(app) == before_breaches
    assert await figures(app, later) == before

    # The same call, had it been real, would have counted against the target.
    async with rt.sessionmaker() as session:
        call = await session.get(Call, uuid.UUID(test["id"]))
        assert call is not None
        call.test = False
        await session.commit()
    counted = await figures(app, later)
    assert counted["windows"][0]["calls"] == 2
    assert counted["windows"][0]["share_within_target"] == 0.5
    assert counted["ringing"] == 1
    async with rt.sessionmaker() as session:
        call = await session.get(Call, uuid.UUID(test["id"]))
        assert call is not None
        call.test = True
        await session.commit()

    # Answerable like a real call; answered late, it still changes nothing.
    await http.put("/api/v1/positions/P01/state", json={"state": "ready"})
    answered = await http.post(f"/api/v1/calls/{test['id']}/answer", json={"position_id": "P01"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    assert await figures(app, later) == before
    # A test call abandoned owes a callback in the queue, which the figures do not count.
    other = (await http.post("/api/v1/calls/test", headers=SUPERVISOR)).json()
    assert (await http.post(f"/api/v1/calls/{other['id']}/abandoned", json={})).status_code == 200
    async with rt.sessionmaker() as session:
        owed = (await session.scalars(select(Callback))).all()
    assert len(owed) == 1
    assert await figures(app, later) == before


async def demo_calls_are_traffic(app: Any, clock: ManualClock) -> None:
    """A generated demo call is not a test call: it counts."""
    rt = app.state.runtime
    now = clock.now()
    before = await figures(app, now + timedelta(seconds=1))
    call = await generator.ring_one(rt, actor=generator.GENERATOR, line="demo", rng=random.Random(1))
    assert call.test is False
    after = await figures(app, now + timedelta(seconds=1))
    assert after["windows"][0]["calls"] == before["windows"][0]["calls"] + 1


async def test_test_calls_and_the_slo_on_postgresql(app: Any, client: httpx.AsyncClient,
                                                    clock: ManualClock, xian: Any) -> None:
    await an_unanswered_test_call_changes_no_slo_figure(app, client, clock)
    await demo_calls_are_traffic(app, clock)


async def test_test_calls_and_the_slo_on_embedded_sqlite(tmp_path: Path) -> None:
    clock = ManualClock(datetime.now().astimezone().replace(microsecond=0))
    app = create_app(Settings(data_dir=tmp_path, background_tasks=False, secret_key=TEST_SECRET),
                     clock=clock)
    async with running(app):
        await factories.load_builtin(app)
        async with client_for(app) as http:
            await an_unanswered_test_call_changes_no_slo_figure(app, http, clock)
            await demo_calls_are_traffic(app, clock)


async def drills(app: Any) -> None:
    """November drills: a test call nobody answered, one abandoned, and one answered late whose
    incident was dispatched and handed over (a drill from start to end)."""
    async with app.state.runtime.sessionmaker() as session:
        h = History(session)
        h.calls = 100  # telephony ids apart from the month's own
        drill = h.incident(30_100, "critical", "sealed", "sd-a")
        await h.flush()
        for call_id in (h.call(30_000, answered=30_060, incident=drill), h.call(31_000),
                        h.call(32_000, abandoned=32_030)):
            for row in h.rows:
                if isinstance(row, Call) and row.id == call_id:
                    row.test = True
        unanswered = next(r for r in h.rows if isinstance(r, Call) and r.rung_at == quality_history.t(31_000))
        unanswered.status = "ringing"
        await h.flush()
        job = h.job(drill, "U3", [30_200, 30_230, 30_900, 31_500, 32_000, 32_600, 33_900, 33_910],
                    ended=33_900, status="completed")
        await h.flush()
        h.handover(job, drill, "U3", 32_600, 33_900)
        h.decision(drill, 30_100, "transport", "ambulance")
        await h.flush()
        await session.commit()


async def as_real_calls(app: Any) -> None:
    """The drills' calls as if real: then they count (the check above could fail)."""
    async with app.state.runtime.sessionmaker() as session:
        for call in (await session.scalars(select(Call).where(Call.test.is_(True)))).all():
            call.test = False
        await session.commit()


async def november(app: Any) -> dict[str, Any]:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        return (await quality.compute(session=session, rt=rt, month="2026-11")).model_dump()


async def test_drills_change_no_quality_indicator_on_postgresql(app: Any) -> None:
    async with app.state.runtime.sessionmaker() as session:
        await quality_history.record(session)
    before = await november(app)
    await drills(app)
    after = await november(app)
    assert after == before
    assert after["answer"]["calls"] == 8  # the hand-worked month (tests/quality_history.py)
    await as_real_calls(app)
    counted = await november(app)
    assert (counted["incidents"], counted["answer"]["calls"], counted["answer"]["abandoned"]) == (6, 11, 3)


async def test_drills_change_no_quality_indicator_on_embedded_sqlite(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, background_tasks=False, secret_key=TEST_SECRET))
    async with running(app):
        async with app.state.runtime.sessionmaker() as session:
            await quality_history.record(session)
        before = await november(app)
        await drills(app)
        after = await november(app)
        assert after == before
        assert after["incidents"] == 5
        await as_real_calls(app)
        counted = await november(app)
        assert (counted["incidents"], counted["answer"]["calls"]) == (6, 11)
