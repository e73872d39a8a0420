"""Fleet under contention and over sockets: no unit is ever given two jobs; crews on tablets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.audit.schemas import Actor
from dispatch.fleet.enums import AssignmentStatus
from dispatch.fleet.enums import UnitStatus as S
from dispatch.fleet.models import Assignment
from dispatch.incidents import service as incidents
from dispatch.incidents.enums import IncidentStatus
from dispatch.incidents.models import Incident
from dispatch.travel import Origin, Osrm, StraightLine
from dispatch.workflows import dispatch as fleet
from dispatch.workflows import unit_status
from tests import factories
from tests.conftest import AUTH, running, token_for
from tests.realtime_helpers import events, next_frame, open_socket

UNITS = 50
INCIDENTS = 100
ATTEMPTS = 1000
DISPATCHER = Actor(name="dispatcher-1", role="dispatcher", source="test")


def crew(unit_id: str) -> Actor:
    return Actor(name=f"crew-{unit_id}", role="crew", source="test")


def fifty_units() -> dict[str, Any]:
    units = [{"id": f"U{n:02d}", "call_sign": f"Unit {n}", "kind": "ambulance",
              "capabilities": ["ambulance"], "post": "post-n" if n % 2 else "post-s"}
             for n in range(UNITS)]
    return factories.small_scenario(units=units)


async def two_jobs_on_one_incident(hub: Any) -> tuple[Any, list[Any]]:
    """A new incident with units A1 and B1 sent to it: its id and the jobs' ids."""
    await factories.load(hub, factories.small_scenario())
    rt = hub.state.runtime
    incident_id = await factories.add_incident(hub, lat=34.25, lon=108.85, severity="urgent",
                                               category="ordinary", infection_status="none")
    jobs = []
    for unit_id in ("A1", "B1"):
        async with rt.sessionmaker() as session:
            jobs.append((await fleet.dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                                   unit_id=unit_id, actor=DISPATCHER)).id)
    return incident_id, jobs


async def test_the_last_two_jobs_ending_at_once_close_the_incident(
    make_app: Any, committed: AsyncEngine
) -> None:
    """Two crews end their jobs on one incident in overlapping transactions: the second waits
    for the first to commit, sees no open job left and closes the incident."""
    hub = make_app(database_pool_size=4)
    async with running(hub):
        rt = hub.state.runtime
        incident_id, jobs = await two_jobs_on_one_incident(hub)

        async def end(session: Any, job_id: Any) -> str | None:
            job = await session.get(Assignment, job_id)
            job.status, job.ended_at = AssignmentStatus.COMPLETED, rt.clock.now()
            return await incidents.after_job(session, incident_id, completed=True)

        async with rt.sessionmaker() as first, rt.sessionmaker() as second:
            assert await end(first, jobs[0]) is None  # the other job is open
            later = asyncio.create_task(end(second, jobs[1]))
            await asyncio.sleep(0.3)
            assert not later.done()  # it waits for the first transaction
            await first.commit()
            assert await later == IncidentStatus.CLOSED
            await second.commit()
        async with rt.sessionmaker() as session:
            incident = await session.get(Incident, incident_id)
            assert incident is not None
            assert incident.status == IncidentStatus.CLOSED


async def test_two_crews_handing_over_at_once_close_the_incident_once(
    make_app: Any, committed: AsyncEngine
) -> None:
    """The last two jobs of an incident end by their crews' handover-done reports at the same
    moment: each report reads its job under the incident's row lock, so the second sees the
    first job ended and closes the incident (one statement each on PostgreSQL)."""
    hub = make_app(database_pool_size=6)
    async with running(hub):
        rt = hub.state.runtime
        incident_id, _ = await two_jobs_on_one_incident(hub)
        crews = ("A1", "B1")
        for unit_id in crews:
            for to in (S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE, S.TRANSPORTING, S.AT_HOSPITAL):
                async with rt.sessionmaker() as session:
                    await unit_status.change_status(session=session, rt=rt, unit_id=unit_id, to=to,
                                                    actor=crew(unit_id))

        async def hand_over(unit_id: str, *, after: float, slow_commit: bool) -> None:
            await asyncio.sleep(after)
            async with rt.sessionmaker() as session:
                if slow_commit:  # the first report holds its transaction open a while
                    commit = session.commit

                    async def later_commit() -> None:
                        await asyncio.sleep(0.3)
                        await commit()

                    session.commit = later_commit  # type: ignore[method-assign]
                await unit_status.change_status(session=session, rt=rt, unit_id=unit_id,
                                                to=S.HANDOVER_DONE, actor=crew(unit_id),
                                                reason="handed_over_in_person")

        # The second report comes while the first's transaction is open: it waits for the lock.
        await asyncio.gather(hand_over("A1", after=0, slow_commit=True),
                             hand_over("B1", after=0.1, slow_commit=False))
        async with rt.sessionmaker() as session:
            incident = await session.get(Incident, incident_id)
            assert incident is not None
            assert incident.status == IncidentStatus.CLOSED
            ended = (await session.scalars(select(Assignment.status).where(
                Assignment.incident_id == incident_id))).all()
            assert ended == [AssignmentStatus.COMPLETED] * 2
        stream = [json.loads(f["e"]) for _, f in await rt.redis.xrange(rt.keys.events)]
        closed = [e["data"]["incident_id"] for e in stream if e["type"] == "incident.closed"]
        assert closed == [str(incident_id)]


async def test_a_thousand_concurrent_attempts_from_two_instances_never_double_assign(
    make_app: Any, committed: AsyncEngine
) -> None:
    # Small pools: two instances must fit PostgreSQL's connection limit beside other clients.
    a, b = make_app(database_pool_size=12), make_app(database_pool_size=12)
    async with running(a), running(b):
        await factories.load(a, fifty_units())
        incidents = [await factories.add_incident(a, lat=34.25, lon=108.85, severity="urgent",
                                                  category="ordinary", infection_status="none")
                     for _ in range(INCIDENTS)]
        rng = random.Random(7)
        attempts = [(rng.choice(incidents), f"U{rng.randrange(UNITS):02d}") for _ in range(ATTEMPTS)]
        ca = httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a", headers=AUTH)
        cb = httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b", headers=AUTH)
        async with ca, cb:
            gate = asyncio.Semaphore(64)  # two dispatch rooms' worth of clicks in flight

            async def attempt(n: int, incident_id: Any, unit_id: str) -> tuple[str, int]:
                async with gate:
                    http = ca if n % 2 else cb
                    response = await http.post("/api/v1/assignments", json={
                        "incident_id": str(incident_id), "unit_id": unit_id})
                    return unit_id, response.status_code

            results = await asyncio.gather(*(attempt(n, i, u) for n, (i, u) in enumerate(attempts)))
            board = {u["id"]: u for u in (await ca.get("/api/v1/units")).json()}
    codes = Counter(code for _, code in results)
    won = Counter(unit for unit, code in results if code == 201)
    print(f"\n{ATTEMPTS} attempts over {UNITS} units on two instances: {dict(codes)}")
    assert set(codes) <= {201, 409}, codes
    assert max(won.values()) == 1, "a unit was given two jobs"
    assert len(won) == codes[201] == len({u for _, u in attempts})
    async with committed.connect() as connection:
        open_per_unit = dict((await connection.execute(
            select(Assignment.unit_id, func.count()).where(
                Assignment.status.in_(("confirmed", "acknowledged")))
            .group_by(Assignment.unit_id))).all())
        rows = dict((await connection.execute(select(Assignment.unit_id, Assignment.id))).all())
    assert open_per_unit == dict.fromkeys(won, 1)
    for unit_id in won:
        assert board[unit_id]["status"] == "assigned"
        assert board[unit_id]["assignment_id"] == str(rows[unit_id])


async def test_a_crew_works_its_job_from_the_tablet_socket(app: Any, server: str, scenario: Any) -> None:
    token = token_for("crew", unit_id="A1", name="crew-a1")
    tablet, _hello = await open_socket(server, "/ws/crew/A1", token=token)
    console, _ = await open_socket(server, "/ws/console", types="assignment.,unit.status")
    try:
        incident_id = await factories.add_incident(app, lat=34.23, lon=108.85, severity="urgent",
                                                   category="ordinary", infection_status="none")
        async with httpx.AsyncClient(base_url=f"http://{server}", headers=AUTH) as http:
            response = await http.post("/api/v1/assignments", json={
                "incident_id": str(incident_id), "unit_id": "A1"})
            assert response.status_code == 201
        assignment_id = response.json()["id"]
        pushed = (await events(tablet, 1, types=("assignment.confirmed",)))[0]
        assert pushed["data"]["assignment_id"] == assignment_id
        assert pushed["data"]["incident"]["lat"] == 34.23
        await tablet.send(json.dumps({"action": "assignment.ack", "ref": "k1",
                                      "assignment_id": assignment_id}))
        reply = await next_frame(tablet, kinds=("result", "error"))
        assert reply["kind"] == "result"
        assert reply["data"]["status"] == "acknowledged"
        await tablet.send(json.dumps({"action": "unit.status", "ref": "s1", "status": "on_scene"}))
        refused = await next_frame(tablet, kinds=("result", "error"))
        assert refused["kind"] == "error"
        assert refused["problem"]["status"] == 409
        await tablet.send(json.dumps({"action": "unit.status", "ref": "s2", "status": "en_route"}))
        moved = await next_frame(tablet, kinds=("result", "error"))
        assert moved["kind"] == "result"
        assert moved["data"]["status"] == "en_route"
        await tablet.send(json.dumps({"action": "unit.position", "ref": "p1", "lat": 34.2,
                                      "lon": 108.85}))
        assert (await next_frame(tablet, kinds=("result", "error")))["data"]["accepted"] is True
        seen = [e["data"]["status"] for e in await events(console, 3, types=("unit.status",))]
        assert seen == ["assigned", "acknowledged", "en_route"]
        # A crew socket cannot dispatch.
        await tablet.send(json.dumps({"action": "assignment.dispatch", "ref": "d1",
                                      "incident_id": str(incident_id), "unit_id": "B1"}))
        assert (await next_frame(tablet, kinds=("result", "error")))["kind"] == "error"
    finally:
        await tablet.close()
        await console.close()


class FakeOsrm(BaseHTTPRequestHandler):
    """An OSRM table service answering 60 s per origin index, 1 km each."""

    def do_GET(self) -> None:
        coords = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
        n = len(coords) - 1
        body = json.dumps({"code": "Ok", "durations": [[60.0 * (i + 1)] for i in range(n)],
                           "distances": [[1000.0 * (i + 1)] for i in range(n)]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def fake_osrm() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


async def test_osrm_adapter_uses_road_times_and_falls_back_when_unreachable() -> None:
    origins = [Origin("far", "ambulance", 34.30, 108.90), Origin("near", "ambulance", 34.16, 108.86)]
    straight = StraightLine()
    with fake_osrm() as url:
        routed = await Osrm(url, fallback=straight, max_origins=1).estimate(origins, 34.15, 108.85)
    assert routed.source == "osrm"
    # Only the nearest by straight line was asked about; the other kept its rough estimate.
    assert routed.by_unit["near"].seconds == 60.0
    assert routed.by_unit["near"].distance_km == 1.0
    assert routed.by_unit["far"] == pytest.approx(straight.one(origins[0], 34.15, 108.85))
    down = await Osrm("http://127.0.0.1:9", fallback=straight).estimate(origins, 34.15, 108.85)
    assert down.source == "straight_line"
    assert down.warnings == ["routing server unavailable: straight-line estimates"]


async def test_ranking_in_redis_matches_a_brute_force_ranking(app: Any) -> None:
    from dispatch.fleet.recommend import recommend
    from dispatch.fleet.service import live, report_position, travel

    rng = random.Random(11)
    kinds = [("ambulance", ["ambulance"]),
             ("negative_pressure_ambulance", ["ambulance", "negative_pressure"]),
             ("monitoring_unit", ["ambulance", "monitoring"]),
             ("closed_loop_vehicle", ["closed_loop"])]
    units = []
    for n in range(60):
        kind, caps = rng.choice(kinds)
        units.append({"id": f"R{n:02d}", "call_sign": f"R {n}", "kind": kind, "capabilities": caps,
                      "post": "post-n"})
    await factories.load(app, factories.small_scenario(units=units))
    rt = app.state.runtime
    where = {}
    for unit in units:
        where[unit["id"]] = (34.15 + rng.uniform(-0.2, 0.2), 108.85 + rng.uniform(-0.2, 0.2))
        await report_position(rt=rt, unit_id=unit["id"], lat=where[unit["id"]][0],
                              lon=where[unit["id"]][1])
    busy = set(rng.sample(sorted(where), 20))
    for unit_id in busy:
        await live(rt).move(unit_id, "out_of_service", now_ms=0, allowed=["available"])
    model = travel(rt)
    assert isinstance(model, StraightLine)
    for _ in range(25):
        lat, lon = 34.15 + rng.uniform(-0.25, 0.25), 108.85 + rng.uniform(-0.25, 0.25)
        required = rng.choice([["ambulance"], ["ambulance", "negative_pressure"], ["closed_loop"]])
        rec = await recommend(live(rt), lat=lat, lon=lon, required=required, travel=model,
                              now_ms=0, stale_after_ms=1, limit=5)
        expected = sorted(
            (model.one(Origin(u["id"], u["kind"], *where[u["id"]]), lat, lon).seconds, u["id"])
            for u in units if u["id"] not in busy and set(required) <= set(u["capabilities"]))
        assert [c.unit_id for c in rec.candidates] == [u for _, u in expected[:5]]
        # Redis measures on its own geohash grid and earth radius: within a tenth of a percent.
        assert [c.eta_seconds for c in rec.candidates] == pytest.approx(
            [s for s, _ in expected[:5]], rel=1e-3)
        # Every unit nearer than the last candidate that may not go is listed with its reason.
        if rec.candidates:
            last_km = rec.candidates[-1].distance_km
            listed = {e.unit_id for e in rec.excluded}
            chosen = {c.unit_id for c in rec.candidates}
            for u in units:
                km = model.one(Origin(u["id"], u["kind"], *where[u["id"]]), lat, lon).distance_km
                eligible = u["id"] not in busy and set(required) <= set(u["capabilities"])
                if km < last_km - 0.01 and not eligible:
                    assert u["id"] in listed, (u["id"], km, last_km)
                assert not (eligible and u["id"] in listed)
            assert chosen.isdisjoint(listed)
        assert rec.fleet_size == 60
