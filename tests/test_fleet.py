"""Fleet: the unit state machine, jobs from dispatch to handover, acknowledgement, rebuild."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.clock import ManualClock
from dispatch.fleet import coverage, states, timers
from dispatch.fleet.enums import UnitStatus as S
from dispatch.fleet.models import Assignment, Unit
from dispatch.fleet.service import live
from dispatch.incidents.models import Incident
from dispatch.livestate import rebuild
from dispatch.routing import service as routing_service
from dispatch.runtime import Runtime
from dispatch.workflows import dispatch as dispatch_workflow
from tests import factories
from tests.conftest import token_for
from tests.realtime_helpers import open_socket

INCIDENT = {"lat": 34.23, "lon": 108.85, "severity": "urgent", "category": "ordinary",
            "infection_status": "none"}


def runtime(app: Any) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


async def published(app: Any, type_: str) -> list[dict[str, Any]]:
    """Data of every event of `type_` on the stream so far."""
    rt = runtime(app)
    entries = await rt.redis.xrange(rt.keys.events)
    bodies = [json.loads(fields["e"]) for _, fields in entries]
    return [b["data"] for b in bodies if b["type"] == type_]


async def put_unit(app: Any, unit_id: str, status: S, *, infectious: bool = False) -> None:
    """Set a unit's status directly in PostgreSQL and Redis (test set-up only)."""
    rt = runtime(app)
    async with rt.sessionmaker() as session:
        unit = await session.get(Unit, unit_id)
        assert unit is not None
        unit.status, unit.infectious_load, unit.assignment_id = status, infectious, None
        await session.commit()
    await rt.redis.hset(rt.keys.unit(unit_id), mapping={  # type: ignore[misc]
        "status": status, "infectious": "1" if infectious else "0", "assignment": "", "incident": ""})
    if status == S.AVAILABLE:
        row = await live(rt).unit(unit_id)
        await rt.redis.geoadd(rt.keys.available_geo, (float(row["lon"]), float(row["lat"]), unit_id))
    else:
        await rt.redis.zrem(rt.keys.available_geo, unit_id)


async def db_unit(app: Any, unit_id: str) -> Unit:
    async with runtime(app).sessionmaker() as session:
        unit = await session.get(Unit, unit_id)
        assert unit is not None
        return unit


async def new_incident(app: Any, **values: Any) -> uuid.UUID:
    """An incident as a call-taker records it, with its routing decision."""
    incident_id = await factories.add_incident(app, **{**INCIDENT, **values})
    rt = runtime(app)
    async with rt.sessionmaker() as session:
        await routing_service.decide_for_incident(session=session, rt=rt, incident_id=incident_id,
                                                  actor="test")
    return incident_id


async def dispatch(client: httpx.AsyncClient, incident_id: uuid.UUID, unit_id: str,
                   **extra: Any) -> httpx.Response:
    return await client.post("/api/v1/assignments", json={
        "incident_id": str(incident_id), "unit_id": unit_id, **extra})


async def test_every_legal_and_illegal_transition(app: Any, client: httpx.AsyncClient,
                                                  scenario: Any) -> None:
    reportable = [s for s in S if s not in (S.ASSIGNED, S.ACKNOWLEDGED)]
    checked = 0
    for start, to in itertools.product(S, reportable):
        await put_unit(app, "B1", start)
        response = await client.post("/api/v1/units/B1/status", json={"status": to})
        row = await live(runtime(app)).unit("B1")
        stored = await db_unit(app, "B1")
        if states.legal(start, to):
            assert response.status_code == 200, (start, to, response.text)
            assert row["status"] == stored.status == to
        else:
            assert response.status_code == 409, (start, to, response.text)
            problem = response.json()
            assert problem["type"].endswith("illegal-transition")
            assert problem["status_now"] == start
            assert row["status"] == stored.status == start, "a refused move changed something"
        checked += 1
    assert checked == len(S) * len(reportable)
    # Hub-only moves are not reported by crews.
    await put_unit(app, "B1", S.AVAILABLE)
    response = await client.post("/api/v1/units/B1/status", json={"status": "assigned"})
    assert response.status_code == 422
    assert "body.status" in response.text
    response = await client.post("/api/v1/units/B1/status", json={"status": "acknowledged"})
    assert response.status_code == 409
    assert "no job" in response.json()["detail"]
    response = await client.post("/api/v1/units/B1/status", json={"status": "flying"})
    assert response.status_code == 422
    assert "status" in response.text


async def test_a_job_from_dispatch_to_handover(app: Any, client: httpx.AsyncClient,
                                               scenario: Any) -> None:
    incident_id = await new_incident(app)
    response = await client.get(f"/api/v1/incidents/{incident_id}/recommendations")
    assert response.status_code == 200
    rec = response.json()
    assert next(c["unit_id"] for c in rec["candidates"]) == "A1"  # nearest of the ambulances
    response = await dispatch(client, incident_id, "A1")
    assert response.status_code == 201, response.text
    assignment = response.json()
    assert assignment["status"] == "confirmed"
    assert assignment["ack_deadline"]
    job = (await client.get("/api/v1/units/A1/job")).json()["job"]
    assert job["assignment_id"] == assignment["id"]
    assert job["incident"]["lat"] == 34.23
    assert job["next_statuses"] == ["acknowledged"]
    # The same unit cannot be taken twice.
    other = await new_incident(app)
    again = await dispatch(client, other, "A1")
    assert again.status_code == 409
    assert again.json()["status_now"] == "assigned"

    ack = await client.post(f"/api/v1/assignments/{assignment['id']}/acknowledge")
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    for to in ("en_route", "on_scene", "transporting", "at_hospital"):
        response = await client.post("/api/v1/units/A1/status", json={"status": to})
        assert response.status_code == 200, (to, response.text)
    assert len(await published(app, "handover.notice")) == 1
    assert len(await published(app, "handover.arrived")) == 1
    # The hospital has not confirmed: the crew must say why it marks the handover itself.
    response = await client.post("/api/v1/units/A1/status", json={"status": "handover_done"})
    assert response.status_code == 422
    assert "reason" in response.text
    assert (await live(runtime(app)).unit("A1"))["status"] == "at_hospital"
    response = await client.post("/api/v1/units/A1/status",
                                 json={"status": "handover_done", "reason": "no one at the desk"})
    assert response.status_code == 200
    response = await client.post("/api/v1/units/A1/status", json={"status": "available"})
    assert response.status_code == 200
    assert response.json()["assignment_id"] is None
    done = (await client.get(f"/api/v1/assignments/{assignment['id']}")).json()
    assert done["status"] == "completed"
    assert done["end_reason"] == "handed over"
    assert (await client.get("/api/v1/units/A1/job")).json() == {"job": None}
    async with runtime(app).sessionmaker() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert incident.status == "closed"
        audit = (await session.scalars(select(AuditEntry).where(
            AuditEntry.target_type == "unit", AuditEntry.target_id == "A1")
            .order_by(AuditEntry.id))).all()
    assert [e.after["status"] for e in audit] == [
        "assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital",
        "handover_done", "available"]
    assert {e.actor for e in audit} == {"test-operator"}
    history = (await client.get("/api/v1/units/A1/history")).json()[::-1]  # oldest first
    assert [(h["type"], h["from"], h["to"], h["actor"]) for h in history] == [
        ("status", before, after, "test-operator") for before, after in itertools.pairwise([
            "available", "assigned", "acknowledged", "en_route", "on_scene", "transporting",
            "at_hospital", "handover_done", "available"])]
    assert history[-2]["data"] == {"reason": "no one at the desk"}
    statuses = [e["status"] for e in await published(app, "unit.status") if e["unit_id"] == "A1"]
    assert statuses[-1] == "available"
    assert len(statuses) == 8
    assert len(await published(app, "assignment.confirmed")) == 1


async def test_an_infectious_patient_means_disinfection_before_available(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app, infection_status="suspected")
    rec = (await client.get(f"/api/v1/incidents/{incident_id}/recommendations")).json()
    assignment = (await dispatch(client, incident_id, rec["candidates"][0]["unit_id"])).json()
    unit_id = assignment["unit_id"]
    await client.post(f"/api/v1/assignments/{assignment['id']}/acknowledge")
    for to in ("en_route", "on_scene", "transporting", "at_hospital"):
        assert (await client.post(f"/api/v1/units/{unit_id}/status", json={"status": to})).status_code == 200
    response = await client.post(f"/api/v1/units/{unit_id}/status",
                                 json={"status": "handover_done", "reason": "desk empty"})
    assert response.status_code == 200
    assert response.json()["infectious_load"] is True
    assert response.json()["next_statuses"] == ["disinfecting"]
    refused = await client.post(f"/api/v1/units/{unit_id}/status", json={"status": "available"})
    assert refused.status_code == 409
    assert "disinfected" in refused.json()["detail"]
    assert (await live(runtime(app)).unit(unit_id))["status"] == "handover_done"
    # Out of service and back does not wash the unit either.
    assert (await client.post(f"/api/v1/units/{unit_id}/status",
                              json={"status": "out_of_service"})).status_code == 200
    assert (await client.post(f"/api/v1/units/{unit_id}/status",
                              json={"status": "available"})).status_code == 409
    assert (await client.post(f"/api/v1/units/{unit_id}/status",
                              json={"status": "disinfecting"})).status_code == 200
    clean = await client.post(f"/api/v1/units/{unit_id}/status", json={"status": "available"})
    assert clean.status_code == 200
    assert clean.json()["infectious_load"] is False
    assert (await db_unit(app, unit_id)).infectious_load is False


async def test_ack_timeout_releases_the_unit_and_proposes_the_next(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock
) -> None:
    rt = runtime(app)
    incident_id = await new_incident(app)
    first = (await dispatch(client, incident_id, "A1")).json()
    clock.advance(rt.settings.ack_timeout_seconds - 1)
    assert await timers.tick(rt) == []
    clock.advance(2)
    assert await timers.tick(rt) == ["A1"]
    assert (await client.get(f"/api/v1/assignments/{first['id']}")).json()["status"] == "timed_out"
    assert (await live(rt).unit("A1"))["status"] == "available"
    proposals = await published(app, "assignment.proposed")
    assert proposals[-1]["incident_id"] == str(incident_id)
    assert proposals[-1]["unit_id"] not in (None, "A1"), "the unit that timed out is proposed again"
    rec = (await client.get(f"/api/v1/incidents/{incident_id}/recommendations")).json()
    assert "A1" not in [c["unit_id"] for c in rec["candidates"]]
    assert any(e["unit_id"] == "A1" and e["reason"].startswith("declined")
               for e in rec["excluded"])
    assert await timers.tick(rt) == []  # nothing left to time out


async def test_auto_dispatch_sends_the_next_unit_after_a_decline(
    app: Any, client: httpx.AsyncClient, scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(app)
    # The settings are shared by every test's app: put them back afterwards.
    monkeypatch.setattr(rt.settings, "auto_dispatch_severities", ["critical"])
    incident_id = await new_incident(app, severity="critical")

    sent = await dispatch_workflow.propose(rt, incident_id, reason="test")
    assert sent == "A1"
    job = (await client.get("/api/v1/units/A1/job")).json()["job"]
    response = await client.post(f"/api/v1/assignments/{job['assignment_id']}/decline",
                                 json={"reason": "tyre burst"})
    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    taken = (await client.get(f"/api/v1/assignments?incident_id={incident_id}")).json()
    assert [(a["unit_id"], a["status"]) for a in taken] == [("A1", "declined"), ("A2", "confirmed")]
    assert taken[1]["confirmed_by"] == "hub:auto-dispatch"


async def test_a_unit_lacking_capabilities_needs_an_override_reason(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app, infection_status="confirmed")
    rec = (await client.get(f"/api/v1/incidents/{incident_id}/recommendations")).json()
    assert "negative_pressure" in rec["required_capabilities"]
    assert [c["unit_id"] for c in rec["candidates"]] == ["A2"]
    assert {e["unit_id"]: e["reason"] for e in rec["excluded"]}["B1"] == "lacks negative_pressure"
    refused = await dispatch(client, incident_id, "B1")
    assert refused.status_code == 409
    assert refused.json()["missing"] == ["negative_pressure"]
    assert (await live(runtime(app)).unit("B1"))["status"] == "available"
    sent = await dispatch(client, incident_id, "B1", override_reason="A2 is 40 min away")
    assert sent.status_code == 201
    assert sent.json()["override_reason"] == "A2 is 40 min away"


async def test_out_of_service_on_a_job_cancels_it_and_proposes_another(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app)
    first = (await dispatch(client, incident_id, "A1")).json()
    await client.post(f"/api/v1/assignments/{first['id']}/acknowledge")
    await client.post("/api/v1/units/A1/status", json={"status": "en_route"})
    response = await client.post("/api/v1/units/A1/status",
                                 json={"status": "out_of_service", "reason": "engine failure"})
    assert response.status_code == 200
    assert response.json()["assignment_id"] is None
    ended = (await client.get(f"/api/v1/assignments/{first['id']}")).json()
    assert ended["status"] == "cancelled"
    assert ended["end_reason"] == "unit out of service"
    assert (await published(app, "assignment.proposed"))[-1]["unit_id"] == "A2"


async def test_cancel_stands_the_unit_down(app: Any, client: httpx.AsyncClient, scenario: Any) -> None:
    incident_id = await new_incident(app)
    first = (await dispatch(client, incident_id, "A1")).json()
    response = await client.post(f"/api/v1/assignments/{first['id']}/cancel",
                                 json={"reason": "caller rang back: not needed"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert (await live(runtime(app)).unit("A1"))["status"] == "available"
    again = await client.post(f"/api/v1/assignments/{first['id']}/cancel", json={})
    assert again.status_code == 409


async def test_the_incident_closes_with_its_last_job_and_reopens_when_its_units_stand_down(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app)

    async def incident_status() -> str:
        async with runtime(app).sessionmaker() as session:
            incident = await session.get(Incident, incident_id)
            assert incident is not None
            return incident.status

    first = (await dispatch(client, incident_id, "A1")).json()
    second = (await dispatch(client, incident_id, "A2")).json()
    assert await incident_status() == "dispatched"
    response = await client.post(f"/api/v1/assignments/{first['id']}/cancel", json={})
    assert response.status_code == 200
    assert await incident_status() == "dispatched"  # A2 is still on its way
    response = await client.post(f"/api/v1/assignments/{second['id']}/cancel", json={})
    assert response.status_code == 200
    assert await incident_status() == "open"  # no unit left: back to the dispatchers
    third = (await dispatch(client, incident_id, "A1")).json()
    assert await incident_status() == "dispatched"
    assert (await client.post(f"/api/v1/assignments/{third['id']}/acknowledge")).status_code == 200
    for to in ("en_route", "on_scene", "available"):  # treated on scene, not transported
        response = await client.post("/api/v1/units/A1/status", json={"status": to})
        assert response.status_code == 200, (to, response.text)
    assert await incident_status() == "closed"
    closed = await published(app, "incident.closed")
    assert [e["incident_id"] for e in closed] == [str(incident_id)]


async def test_rebuild_after_flushdb_restores_units_and_open_assignments(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    rt = runtime(app)
    one = (await dispatch(client, await new_incident(app), "A1")).json()
    two = (await dispatch(client, await new_incident(app, infection_status="suspected"), "B1",
                          override_reason="test")).json()
    await client.post(f"/api/v1/assignments/{two['id']}/acknowledge")
    await client.post("/api/v1/units/B1/status", json={"status": "en_route"})
    await client.post("/api/v1/units/A2/status", json={"status": "out_of_service"})
    await client.post("/api/v1/units/B1/position", json={"lat": 34.15, "lon": 108.86})
    from dispatch.fleet.service import flush_positions

    assert await flush_positions(rt) == 1
    fields = ("status", "assignment", "incident", "infectious", "lat", "lon", "post", "caps")
    before = {r["id"]: {f: r[f] for f in fields} for r in await live(rt).board()}
    deadlines = await rt.redis.zrange(rt.keys.ack_deadlines, 0, -1, withscores=True)
    geo = sorted(await rt.redis.zrange(rt.keys.available_geo, 0, -1))
    await rt.redis.flushdb()
    assert await live(rt).board() == []
    assert await rebuild(rt, rt.rebuilders)
    await live(rt).load()
    after = {r["id"]: {f: r[f] for f in fields} for r in await live(rt).board()}
    assert after == before
    assert before["A1"]["assignment"] == one["id"]
    assert before["B1"]["status"] == "en_route"
    assert float(before["B1"]["lat"]) == 34.15
    assert before["B1"]["infectious"] == "1"
    assert await rt.redis.zrange(rt.keys.ack_deadlines, 0, -1, withscores=True) == deadlines
    assert deadlines
    assert deadlines[0][0] == "A1"
    assert sorted(await rt.redis.zrange(rt.keys.available_geo, 0, -1)) == geo == []
    # Work goes on: the crew acknowledges on the rebuilt state.
    ack = await client.post(f"/api/v1/assignments/{one['id']}/acknowledge")
    assert ack.status_code == 200


async def test_a_crew_mid_job_just_after_redis_lost_live_state_carries_on(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    rt = runtime(app)
    job = (await dispatch(client, await new_incident(app), "A1")).json()
    await rt.redis.flushdb()  # before the watch loop has noticed: the crew is not told "no unit"
    ack = await client.post(f"/api/v1/assignments/{job['id']}/acknowledge")
    assert ack.status_code == 200, ack.text
    await rt.redis.flushdb()  # and again before a report that reads nothing before its move
    moved = await client.post("/api/v1/units/A1/status", json={"status": "en_route"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignment_id"] == job["id"]
    await rt.redis.flushdb()
    where = await client.post("/api/v1/units/A1/position", json={"lat": 34.2, "lon": 108.9})
    assert where.json()["accepted"] is True
    assert (await live(rt).unit("A1"))["status"] == "en_route"
    assert (await client.get("/api/v1/units/A9")).status_code == 404  # unknown stays unknown


async def test_a_crew_tablet_reconnecting_just_after_redis_lost_live_state_is_let_in(
    app: Any, server: str, scenario: Any
) -> None:
    await runtime(app).redis.flushdb()
    tablet, hello = await open_socket(server, "/ws/crew/A1", token=token_for("crew", unit_id="A1"))
    assert hello["kind"] == "hello"  # not closed as an unknown unit
    await tablet.close()


async def test_positions_old_reports_ignored_stale_flagged_history_kept(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock
) -> None:
    rt = runtime(app)
    now = clock.now()
    first = await client.post("/api/v1/units/A1/position",
                              json={"lat": 34.2, "lon": 108.9, "at": now.isoformat()})
    assert first.json() == {"unit_id": "A1", "accepted": True, "ignored": None}
    older = await client.post("/api/v1/units/A1/position", json={
        "lat": 1.0, "lon": 1.0, "at": (now - timedelta(seconds=10)).isoformat()})
    assert older.json() == {"unit_id": "A1", "accepted": False, "ignored": "older than the last report"}
    unit = (await client.get("/api/v1/units/A1")).json()
    assert (unit["lat"], unit["lon"]) == (34.2, 108.9)
    assert unit["position_stale"] is False
    clock.advance(rt.settings.stale_position_seconds + 1)
    assert (await client.get("/api/v1/units/A1")).json()["position_stale"] is True
    bad = await client.post("/api/v1/units/A1/position", json={"lat": 91, "lon": 0})
    assert bad.status_code == 422
    assert "lat" in bad.text
    assert (await client.post("/api/v1/units/NOPE/position", json={"lat": 1, "lon": 1})).status_code == 404
    from dispatch.fleet.service import flush_positions

    await flush_positions(rt)
    stored = await db_unit(app, "A1")
    assert (stored.lat, stored.lon) == (34.2, 108.9)
    history = (await client.get("/api/v1/units/A1/history")).json()
    assert [h["type"] for h in history] == ["position"]
    # The board hears of a unit's position at most every position_publish_seconds.
    assert len(await published(app, "unit.position")) == 1


async def test_coverage_warns_once_when_an_area_is_left_uncovered(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    rt = runtime(app)
    report = (await client.get("/api/v1/coverage")).json()
    south = next(a for a in report["areas"] if a["posts"] == ["post-s"])
    assert south["available"] == 1
    assert south["uncovered"] is False
    assert south["population_per_crew"] == south["population"]
    await dispatch(client, await new_incident(app, lat=34.08, lon=108.85), "B1")
    await coverage.check(rt)
    await coverage.check(rt)
    warnings = await published(app, "coverage.warning")
    assert [w["id"] for w in warnings] == ["post-s"]
    assert (await client.get("/api/v1/coverage")).json()["uncovered"] == ["post-s"]


async def test_crew_may_act_only_for_its_own_unit(app: Any, scenario: Any) -> None:
    from tests.conftest import client_for, token_for

    crew_b1 = {"Authorization": f"Bearer {token_for('crew', unit_id='B1')}"}
    async with client_for(app) as http:
        incident_id = await new_incident(app)
        assignment = (await dispatch(http, incident_id, "A1")).json()
        response = await http.post(f"/api/v1/assignments/{assignment['id']}/acknowledge",
                                   headers=crew_b1)
        assert response.status_code == 403
        response = await http.post("/api/v1/units/A1/status", json={"status": "out_of_service"},
                                   headers=crew_b1)
        assert response.status_code == 403
        response = await http.post("/api/v1/assignments", headers=crew_b1, json={
            "incident_id": str(incident_id), "unit_id": "B1"})
        assert response.status_code == 403
        assert (await http.get("/api/v1/units/B1/job", headers=crew_b1)).json() == {"job": None}
        response = await http.post("/api/v1/units/B1/status", json={"status": "out_of_service"},
                                   headers=crew_b1)
        assert response.status_code == 200


@pytest.mark.parametrize("missing", ["incident_id", "unit_id"])
async def test_bad_assignment_requests_name_the_field(
    client: httpx.AsyncClient, scenario: Any, missing: str
) -> None:
    body = {"incident_id": str(uuid.uuid4()), "unit_id": "A1"}
    del body[missing]
    response = await client.post("/api/v1/assignments", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert missing in response.text
    unknown = await client.post("/api/v1/assignments", json={"incident_id": str(uuid.uuid4()),
                                                               "unit_id": "A1"})
    assert unknown.status_code == 404


async def test_assignment_rows_match_live_state(app: Any, client: httpx.AsyncClient,
                                                scenario: Any) -> None:
    a = (await dispatch(client, await new_incident(app), "A1")).json()
    async with runtime(app).sessionmaker() as session:
        row = await session.get(Assignment, uuid.UUID(a["id"]))
        unit = await session.get(Unit, "A1")
    assert row is not None
    assert unit is not None
    assert unit.assignment_id == row.id
    assert unit.status == "assigned"


@pytest.mark.parametrize("to", ["en_route", "available"])
async def test_a_report_the_database_refuses_leaves_live_state_as_it_was(
    app: Any, client: httpx.AsyncClient, scenario: Any, to: str
) -> None:
    """A unit Redis knows and PostgreSQL does not (a drifted record): the move made in Redis
    first is undone — status, its time, job and load as they were — and the crew is told."""
    rt = runtime(app)
    unit = rt.keys.unit("GHOST")
    before = {"id": "GHOST", "call_sign": "Ghost 1", "kind": "ambulance", "caps": "ambulance",
              "status": "acknowledged" if to == "en_route" else "disinfecting",
              "status_at": "1700000000000",
              "assignment": "", "incident": "", "infectious": "0", "active": "1"}
    await rt.redis.hset(unit, mapping=before)  # type: ignore[misc]
    reply = await client.post("/api/v1/units/GHOST/status", json={"status": to})
    assert reply.status_code == 404, reply.text
    after = await live(rt).unit("GHOST")
    assert {k: after[k] for k in before} == before
