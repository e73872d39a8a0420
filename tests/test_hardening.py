"""The outside black-box test of issue 23: one test per numbered finding (roles that leaked,
inputs that crashed), each failing on the code before the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.auth import service as auth_service
from dispatch.auth.schemas import Role
from dispatch.clock import ManualClock
from dispatch.fleet.models import Unit
from dispatch.fleet.service import live
from dispatch.hospitals.models import Hospital
from tests.test_auth import ADMIN, anon, as_, token
from tests.test_fleet import dispatch, new_incident

ROOT = Path(__file__).resolve().parent.parent


def field_named(response: httpx.Response, field: str) -> bool:
    return any(e["field"] == field for e in response.json().get("errors", []))


async def hospital_row(app: Any, hospital_id: str) -> Hospital:
    async with app.state.runtime.sessionmaker() as session:
        row = await session.get(Hospital, hospital_id)
        assert row is not None
        return row


# 1 -------------------------------------------------------------------------------------------
async def test_f1_a_hospital_cannot_undo_its_suspension_by_patch(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    suspended = await client.post("/api/v1/hospitals/general/suspend", json={"reason": "drill"})
    assert suspended.status_code == 200, suspended.text
    own = as_(token(Role.HOSPITAL, hospital_id="general"))
    undo = await client.patch("/api/v1/hospitals/general", json={"status": "open"}, headers=own)
    assert undo.status_code == 403, undo.text
    assert (await hospital_row(app, "general")).status == "suspended"
    # Its own full categories it still reports.
    full = await client.patch("/api/v1/hospitals/general", json={"full_categories": ["dialysis"]},
                              headers=own)
    assert full.status_code == 200, full.text
    assert full.json()["status"] == "suspended"


# 2 -------------------------------------------------------------------------------------------
async def test_f2_a_call_taker_acts_only_for_its_own_position(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    wang = as_(token(Role.CALL_TAKER, name="wang"))
    li = as_(token(Role.CALL_TAKER, name="li"))
    supervisor = as_(token(Role.SUPERVISOR, name="chief"))
    # An empty position cannot be set ready by anyone's call-taker.
    empty = await client.put("/api/v1/positions/P2/state", json={"state": "ready"}, headers=wang)
    assert empty.status_code == 403, empty.text
    # Logging in under another name is refused; the login binds to the signed-in user.
    other = await client.post("/api/v1/positions/P1/login", json={"user": "chief"}, headers=wang)
    assert other.status_code == 403, other.text
    own = await client.post("/api/v1/positions/P1/login", json={"user": "wang"}, headers=wang)
    assert own.status_code == 200, own.text
    assert own.json()["user"] == "wang"
    # Another call-taker may not change wang's position; wang and a supervisor may.
    assert (await client.put("/api/v1/positions/P1/state", json={"state": "ready"},
                             headers=li)).status_code == 403
    assert (await client.post("/api/v1/positions/P1/logout", headers=li)).status_code == 403
    assert (await client.put("/api/v1/positions/P1/state", json={"state": "ready"},
                             headers=wang)).status_code == 200
    assert (await client.put("/api/v1/positions/P1/state", json={"state": "not_ready"},
                             headers=supervisor)).status_code == 200
    positions = {p["id"]: p for p in (await client.get("/api/v1/positions")).json()}
    assert positions["P2"]["state"] == "logged_out"
    assert (positions["P1"]["state"], positions["P1"]["user"]) == ("not_ready", "wang")


async def test_f2_a_call_taker_answers_only_at_its_own_position(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock
) -> None:
    wang = as_(token(Role.CALL_TAKER, name="wang"))
    li = as_(token(Role.CALL_TAKER, name="li"))
    assert (await client.post("/api/v1/positions/P1/login", json={"ready": True},
                              headers=wang)).status_code == 200
    rung = await client.post("/api/v1/calls", json={
        "telephony_call_id": "cti-f2", "caller_number": "13800000001", "line": "120-1",
        "rung_at": clock.now().isoformat()})
    assert rung.status_code == 201, rung.text
    call_id = rung.json()["id"]
    taken = await client.post(f"/api/v1/calls/{call_id}/answer", json={"position_id": "P1"},
                              headers=li)
    assert taken.status_code == 403, taken.text
    assert (await client.get(f"/api/v1/calls/{call_id}")).json()["status"] == "ringing"
    answered = await client.post(f"/api/v1/calls/{call_id}/answer", json={"position_id": "P1"},
                                 headers=wang)
    assert answered.status_code == 200, answered.text


async def test_f2_the_console_socket_acts_only_for_its_own_position(
    app: Any, client: httpx.AsyncClient, scenario: Any, server: str
) -> None:
    from tests.realtime_helpers import next_frame, open_socket

    ws, _ = await open_socket(server, "/ws/console", token=token(Role.CALL_TAKER, name="wang"))
    async with ws:
        await ws.send('{"action": "position.state", "ref": "r1", "position_id": "P2", '
                      '"state": "ready"}')
        reply = await next_frame(ws, kinds=("error", "result"))
        assert reply["ref"] == "r1"
        assert reply["kind"] == "error", reply
        assert reply["problem"]["status"] == 403
    positions = {p["id"]: p for p in (await client.get("/api/v1/positions")).json()}
    assert positions["P2"]["state"] == "logged_out"


# 3 -------------------------------------------------------------------------------------------
async def test_f3_devices_only_for_existing_units_and_hospitals(
    client: httpx.AsyncClient, scenario: Any
) -> None:
    crew = await client.post("/api/v1/devices", json={"kind": "crew", "name": "t", "unit_id": "NOPE"})
    assert crew.status_code == 422, crew.text
    assert field_named(crew, "body.unit_id")
    hospital = await client.post("/api/v1/devices", json={"kind": "hospital", "name": "t",
                                                          "hospital_id": "nope"})
    assert hospital.status_code == 422, hospital.text
    assert field_named(hospital, "body.hospital_id")
    assert (await client.get("/api/v1/devices")).json() == []
    fine = await client.post("/api/v1/devices", json={"kind": "crew", "name": "t", "unit_id": "A1"})
    assert fine.status_code == 201, fine.text


# 4 -------------------------------------------------------------------------------------------
async def test_f4_crew_and_hospital_tokens_read_only_their_own_jobs(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app)
    assignment = (await dispatch(client, incident_id, "A1")).json()
    query = {"incident_id": str(incident_id)}
    own_crew = as_(token(Role.CREW, unit_id="A1"))
    other_crew = as_(token(Role.CREW, unit_id="B1"))
    destination = assignment["destination_hospital_id"]
    assert destination == "general"
    own_hospital = as_(token(Role.HOSPITAL, hospital_id="general"))
    other_hospital = as_(token(Role.HOSPITAL, hospital_id="closed"))
    for headers in (own_crew, own_hospital):
        listed = await client.get("/api/v1/assignments", params=query, headers=headers)
        assert [a["id"] for a in listed.json()] == [assignment["id"]]
        assert (await client.get(f"/api/v1/assignments/{assignment['id']}",
                                 headers=headers)).status_code == 200
        assert (await client.get("/api/v1/routing/decisions", params=query,
                                 headers=headers)).status_code == 200
    for headers in (other_crew, other_hospital):
        listed = await client.get("/api/v1/assignments", params=query, headers=headers)
        assert listed.status_code == 403, listed.text
        one = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=headers)
        assert one.status_code == 403, one.text
        decisions = await client.get("/api/v1/routing/decisions", params=query, headers=headers)
        assert decisions.status_code == 403, decisions.text


async def test_f4_a_hospital_reads_only_its_own_handover_stats(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    assignment = (await dispatch(client, await new_incident(app), "A1")).json()
    await client.post(f"/api/v1/assignments/{assignment['id']}/acknowledge")
    for status in ("en_route", "on_scene", "transporting", "at_hospital"):
        moved = await client.post("/api/v1/units/A1/status", json={"status": status})
        assert moved.status_code == 200, moved.text
    closed = as_(token(Role.HOSPITAL, hospital_id="closed"))
    everyone = await client.get("/api/v1/handovers/stats")
    assert "general" in {s["hospital_id"] for s in everyone.json()}, everyone.text
    mine = await client.get("/api/v1/handovers/stats", headers=closed)
    assert mine.status_code == 200
    assert {s["hospital_id"] for s in mine.json()} <= {"closed"}
    other = await client.get("/api/v1/handovers/stats", params={"hospital_id": "general"},
                             headers=closed)
    assert other.status_code == 403, other.text


# 5 -------------------------------------------------------------------------------------------
async def test_f5_login_is_throttled_per_user_and_the_lockout_audited(
    app: Any, clock: ManualClock
) -> None:
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        await auth_service.create_user(session=session, rt=rt, username="li.na",
                                       password="correct horse battery", roles=[Role.DISPATCHER],
                                       now=clock.now(), actor=ADMIN)
    async with anon(app) as http:
        codes = [(await http.post("/api/v1/auth/login", json={
            "username": "li.na", "password": f"wrong-{i}"})).status_code for i in range(15)]
        assert codes[0] == 401
        assert codes[-1] == 429, codes
        locked = await http.post("/api/v1/auth/login",
                                 json={"username": "li.na", "password": "correct horse battery"})
        assert locked.status_code == 429, "a locked-out account must not log in even when right"
        assert locked.headers.get("retry-after")
        clock.advance(rt.settings.login_lockout_seconds + 1)
        again = await http.post("/api/v1/auth/login",
                                json={"username": "li.na", "password": "correct horse battery"})
        assert again.status_code == 200, again.text
    async with rt.sessionmaker() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id == "li.na"))).all()
    assert "auth.lockout" in actions


async def test_f5_login_is_throttled_per_source(app: Any, clock: ManualClock) -> None:
    async with anon(app) as http:
        codes = [(await http.post("/api/v1/auth/login", json={
            "username": f"guess{i}", "password": "nope"})).status_code for i in range(40)]
    assert codes[0] == 401
    assert codes[-1] == 429, codes


# 6 -------------------------------------------------------------------------------------------
async def test_f6_openapi_declares_security_and_the_readme_explains_it(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    secured = [op for methods in schema["paths"].values() for op in methods.values()
               if op.get("security")]
    assert len(secured) > 50
    login = schema["paths"]["/api/v1/auth/login"]["post"]
    assert not login.get("security")
    readme = (ROOT / "README.md").read_text()
    assert "## Signing in, roles and tokens" in readme


# 7 -------------------------------------------------------------------------------------------
async def test_f7_a_fix_outside_the_geo_limits_is_refused_and_changes_nothing(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    good = await client.post("/api/v1/units/A1/position", json={"lat": 34.2, "lon": 108.9})
    assert good.status_code == 200
    bad = await client.post("/api/v1/units/A1/position", json={"lat": 86, "lon": 108.9})
    assert bad.status_code == 422, bad.text
    assert field_named(bad, "body.lat")
    row = await live(app.state.runtime).unit("A1")
    assert (float(row["lat"]), float(row["lon"])) == (34.2, 108.9)
    status = await client.post("/api/v1/units/A1/status", json={"status": "out_of_service"})
    assert status.status_code == 200, status.text


async def test_f7_the_crew_socket_refuses_a_fix_outside_the_geo_limits(
    app: Any, scenario: Any, server: str
) -> None:
    from tests.realtime_helpers import next_frame, open_socket

    ws, _ = await open_socket(server, "/ws/crew/A1", token=token(Role.CREW, unit_id="A1"))
    async with ws:
        await ws.send('{"action": "unit.position", "ref": "r1", "lat": 86, "lon": 108.9}')
        reply = await next_frame(ws, kinds=("error", "result"))
        assert reply["kind"] == "error", reply
        assert reply["problem"]["status"] == 422
        assert any(e["field"].endswith("lat") for e in reply["problem"]["errors"]), reply
    row = await live(app.state.runtime).unit("A1")
    assert float(row.get("lat") or 0) != 86


# 8 -------------------------------------------------------------------------------------------
async def test_f8_an_empty_or_unknown_hospital_id_on_an_incident_is_a_422(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app)
    for value in ("", "nope"):
        response = await client.patch(f"/api/v1/incidents/{incident_id}",
                                      json={"treating_hospital_id": value})
        assert response.status_code == 422, (value, response.text)
        assert field_named(response, "body.treating_hospital_id")
    assert (await client.get(f"/api/v1/incidents/{incident_id}")).json()[
        "treating_hospital_id"] is None


# 9 -------------------------------------------------------------------------------------------
async def test_f9_deleting_a_hospital_some_job_goes_to_is_a_409(
    app: Any, client: httpx.AsyncClient, scenario: Any
) -> None:
    incident_id = await new_incident(app)
    assert (await dispatch(client, incident_id, "A1")).status_code == 201
    response = await client.delete("/api/v1/hospitals/general")
    assert response.status_code == 409, response.text
    assert "assignment" in response.json()["detail"]
    await hospital_row(app, "general")


# 10 ------------------------------------------------------------------------------------------
async def test_f10_a_fix_from_the_future_is_refused_and_does_not_freeze_the_unit(
    app: Any, client: httpx.AsyncClient, scenario: Any, clock: ManualClock
) -> None:
    now = clock.now()
    for ahead in (timedelta(minutes=5), timedelta(days=365 * 3)):
        future = await client.post("/api/v1/units/A1/position", json={
            "lat": 34.2, "lon": 108.9, "at": (now + ahead).isoformat()})
        assert future.status_code == 422, future.text
        assert field_named(future, "body.at")
    skewed = await client.post("/api/v1/units/A1/position", json={
        "lat": 34.21, "lon": 108.9, "at": (now + timedelta(seconds=5)).isoformat()})
    assert skewed.json()["accepted"] is True  # a small clock skew is fine
    clock.advance(10)
    later = await client.post("/api/v1/units/A1/position", json={"lat": 34.22, "lon": 108.91})
    assert later.json()["accepted"] is True
    row = await live(app.state.runtime).unit("A1")
    assert (float(row["lat"]), float(row["lon"])) == (34.22, 108.91)


# 11 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/units/A1/position", {"lat": True, "lon": 108.9}, "body.lat"),
    ("/api/v1/units/A1/position", {"lat": "34.2", "lon": 108.9}, "body.lat"),
    ("/api/v1/routing/evaluate", {"lat": 34.2, "lon": 108.9, "severity": "urgent",
                                  "isolation": "yes"}, "body.isolation"),
    ("/api/v1/hospitals/general/capacity/general/adjust", {"delta": 1.5}, "body.delta"),
])
async def test_f11_no_lax_coercion(
    client: httpx.AsyncClient, scenario: Any, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert field_named(response, field)


async def test_f11_a_location_outside_the_service_area_is_refused(
    client: httpx.AsyncClient, scenario: Any
) -> None:
    response = await client.post("/api/v1/routing/evaluate",
                                 json={"lat": 0, "lon": 0, "severity": "urgent"})
    assert response.status_code == 422, response.text
    assert field_named(response, "body.lat")


async def test_f11_capacity_adjust_keeps_the_cap_put_enforces(
    client: httpx.AsyncClient, scenario: Any
) -> None:
    base = "/api/v1/hospitals/general/capacity/general"
    assert (await client.put(base, json={"available": 5, "total": 5})).status_code == 200
    assert (await client.put(base, json={"available": 6, "total": 5})).status_code == 422
    over = await client.post(base + "/adjust", json={"delta": 3})
    assert over.status_code == 422, over.text
    assert field_named(over, "body.delta")
    rows = (await client.get("/api/v1/hospitals/general/capacity")).json()
    assert [(r["available"], r["total"]) for r in rows] == [(5, 5)]


@pytest.mark.parametrize("name", ["bad\x00name", "bell\x07", "esc\x1b[31m"])
async def test_f11_control_characters_are_refused(
    app: Any, client: httpx.AsyncClient, scenario: Any, name: str
) -> None:
    response = await client.patch("/api/v1/hospitals/general", json={"name": name})
    assert response.status_code == 422, response.text
    assert field_named(response, "body.name")
    assert (await hospital_row(app, "general")).name == "General Hospital"
    unit = await client.post("/api/v1/devices", json={"kind": "crew", "name": name, "unit_id": "A1"})
    assert unit.status_code == 422
    async with app.state.runtime.sessionmaker() as session:
        assert (await session.get(Unit, "A1")) is not None


async def test_f11_text_with_line_breaks_is_still_accepted(
    client: httpx.AsyncClient, scenario: Any
) -> None:
    response = await client.patch("/api/v1/hospitals/general",
                                  json={"notes": "first line\nsecond\tline"})
    assert response.status_code == 200, response.text
