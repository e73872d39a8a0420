"""Community care places: the API, audited status changes, hours, validation of the patient's
facts, temporary medical points sized one per 10,000 people (003), home-visit escalation and the
SLO count of calls resolved without an ambulance. Real PostgreSQL and Redis."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from shapely.geometry import Point, shape
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.audit.schemas import Actor
from dispatch.auth.schemas import Role
from dispatch.calls.enums import CallStatus
from dispatch.calls.models import Call
from dispatch.errors import InvalidInput
from dispatch.incidents.enums import Severity
from dispatch.incidents.models import Incident
from dispatch.scenarios.service import ScenarioError, parse_scenario
from dispatch.workflows.home_visit import NotAHomeVisit, escalate_home_visit, escalation_out
from tests import factories
from tests.conftest import token_for
from tests.test_auth import anon, as_, token
from tests.test_calls import ready
from tests.test_incidents import answered_call

SEALED = {"lat": 34.233, "lon": 108.856}
PRECAUTION = {"lat": 34.205, "lon": 108.880}
NORMAL = {"lat": 34.125, "lon": 108.815}
POINT, POINT_UNIT = "tmp-yuhua-sealed-1-1", "MP-yuhua-sealed-1-1"
ZHANGBA_SEALED = {"type": "Polygon", "coordinates": [[
    [108.866, 34.186], [108.884, 34.186], [108.884, 34.198], [108.866, 34.198], [108.866, 34.186]]]}
GP = Actor(name="dr.wang", role="dispatcher", source="test")


async def test_xian_places_and_medical_point_are_listed(client: httpx.AsyncClient, xian: Any) -> None:
    oxygen = (await client.get("/api/v1/places", params={"kind": "oxygen_station"})).json()
    assert [p["id"] for p in oxygen] == ["fenglin-lvzhou-oxygen", "lanbo-oxygen", "yuhuazhai-oxygen",
                                         "zhangba-oxygen"]
    assert {p["hours"] for p in oxygen} == {"24h"}  # 002 一(三): 24-hour oxygen refill
    assert all("oxygen_refill" in p["services"] and p["location_approximate"] for p in oxygen)
    centres = (await client.get("/api/v1/places", params={"kind": "community_health_centre"})).json()
    posts = {p["id"]: p for p in (await client.get("/api/v1/posts")).json()}
    assert len(centres) == 9  # seed 000 附件
    for centre in centres:  # at its post, paired with the post's tertiary hospital
        post = posts[centre["id"]]
        assert centre["paired_hospital_id"] == post["paired_hospital_id"]
        assert (centre["lat"], centre["lon"]) == (post["lat"], post["lon"])
    points = (await client.get("/api/v1/places", params={"kind": "temporary_medical_point"})).json()
    assert [(p["id"], p["served_zone_id"], p["unit_id"], p["hours"]) for p in points] == [
        (POINT, "yuhua-sealed-1", POINT_UNIT, "24h")]
    assert shape(xian.scenario.zones[0].geometry).contains(Point(points[0]["lon"], points[0]["lat"]))
    units = {u["id"]: u for u in (await client.get("/api/v1/units")).json()}
    team = units[POINT_UNIT]
    assert (team["kind"], team["capabilities"], team["status"]) == (
        "medical_point_team", ["home_visit"], "available")
    assert (team["lat"], team["lon"]) == (points[0]["lat"], points[0]["lon"])
    one = await client.get("/api/v1/places/zhangba-fdt")
    assert one.json()["served_sub_district_ids"] == ["zhangba"]
    missing = await client.get("/api/v1/places/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = await client.get("/api/v1/places", params={"kind": "spa"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.kind"


async def test_status_change_is_audited_and_needs_a_supervisor(
    app: Any, client: httpx.AsyncClient, xian: Any
) -> None:
    path = "/api/v1/places/lanbo-fever/status"
    async with anon(app) as http:
        for role in (Role.CALL_TAKER, Role.DISPATCHER, Role.CREW, Role.HOSPITAL):
            refused = await http.put(path, json={"status": "closed"}, headers=as_(token(role)))
            assert refused.status_code == 403, role
        readable = await http.get("/api/v1/places", headers=as_(token(Role.CREW)))
        assert readable.status_code == 200
        closed = await http.put(path, json={"status": "closed", "reason": "no staff tonight"},
                                headers=as_(token(Role.SUPERVISOR, name="chief.li")))
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["status_reason"]) == ("closed", "no staff tonight")
    again = await client.put(path, json={"status": "closed", "reason": "no staff tonight"})
    assert again.status_code == 200
    reopened = await client.put(path, json={"status": "open"})
    assert reopened.json()["status_reason"] is None
    invalid = await client.put(path, json={"status": "half-open"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "body.status"
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).where(
            AuditEntry.target_type == "place", AuditEntry.target_id == "lanbo-fever")
            .order_by(AuditEntry.id))).all()
    assert [(e.action, e.actor) for e in entries] == [
        ("place.created", "scenario-loader"), ("place.closed", "chief.li"),
        ("place.opened", "test-operator")]
    assert entries[1].before is not None
    assert entries[1].before["status"] == "open"
    assert entries[1].after is not None
    assert entries[1].after["status"] == "closed"
    stream = [json.loads(f["e"]) for _, f in await rt.redis.xrange(rt.keys.events)]
    changed = [e["data"]["places"][0] for e in stream if e["type"] == "places.changed"]
    assert [(c["id"], c["status"]) for c in changed] == [("lanbo-fever", "closed"),
                                                         ("lanbo-fever", "open")]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"referred_by": "nowhere-chc"}, "body.referred_by", "no place 'nowhere-chc'"),
    ({"referred_by": "zhangba-oxygen"}, "body.referred_by", "not a community health centre"),
    ({"flags": {"referred_by": "zhangba-fdt"}}, "body.referred_by", "not a community health centre"),
    ({"flags": {"fever": "yes"}}, "body.flags.fever", "valid boolean"),
    ({"flags": {"needs_oxygen": 1}}, "body.flags.needs_oxygen", "valid boolean"),
    ({"flags": {"referred_by": 7}}, "body.flags.referred_by", "valid string"),
], ids=["unknown-place", "not-a-centre", "not-a-centre-in-flags", "fever-not-bool",
        "oxygen-not-bool", "referrer-not-text"])
async def test_community_facts_are_validated(
    client: httpx.AsyncClient, xian: Any, body: dict[str, Any], field: str, message: str
) -> None:
    response = await client.post("/api/v1/routing/evaluate",
                                 json={**NORMAL, "severity": "non_urgent", **body})
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == field, problem
    assert message in problem["errors"][0]["message"], problem


async def test_incident_referral_is_validated_and_routed(
    client: httpx.AsyncClient, clock: Any, xian: Any
) -> None:
    await ready(client, "P01")
    call_id = await answered_call(client, clock, "P01")
    location = {"address": "丈八社区卫生服务中心", "lat": 34.190, "lon": 108.880}
    body = {"call_id": call_id, "location": location, "severity": "urgent",
            "flags": {"referred_by": "zhangba-oxygen"}}
    refused = await client.post("/api/v1/incidents", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.flags.referred_by"
    created = await client.post("/api/v1/incidents", json={**body, "flags": {"referred_by": "zhangba-chc"}})
    assert created.status_code == 201, created.text
    decision = created.json()["decision"]
    assert decision["destination"]["hospital_id"] == "xian-third"  # seed 000 附件
    assert "paired hospital of 丈八社区卫生服务中心" in decision["destination"]["reason"]
    changed = await client.patch(f"/api/v1/incidents/{created.json()['id']}",
                                 json={"flags": {"referred_by": "nowhere"}})
    assert changed.status_code == 422


async def test_hours_decide_whether_a_place_is_open(
    client: httpx.AsyncClient, app: Any, clock: Any
) -> None:
    places = [
        {"id": "day-fever", "kind": "fever_clinic", "name": "Day fever clinic", "phone": "029-1111",
         "hours": "08:00-17:00", "location": {"lat": 34.26, "lon": 108.85}},
        {"id": "night-fever", "kind": "fever_clinic", "name": "Night fever clinic", "phone": "029-2222",
         "hours": "18:00-08:00", "location": {"lat": 34.30, "lon": 108.85}},
    ]
    await factories.load(app, factories.small_scenario(places=places))
    where = {"lat": 34.25, "lon": 108.85, "severity": "non_urgent", "flags": {"fever": True}}
    morning = "2026-01-12T02:00:00Z"  # 10:00 in Xi'an (UTC+8)
    evening = "2026-01-12T14:00:00Z"  # 22:00
    day = (await client.post("/api/v1/routing/evaluate", json={**where, "at": morning})).json()
    assert day["outcome"] == "refer"
    ref = day["referral"]
    assert (ref["place_id"], ref["phone"], ref["hours"], ref["direction"]) == (
        "day-fever", "029-1111", "08:00-17:00", "N")
    assert ref["distance_km"] == pytest.approx(1.11, abs=0.01)
    night = (await client.post("/api/v1/routing/evaluate", json={**where, "at": evening})).json()
    assert (night["referral"]["place_id"], night["referral"]["phone"]) == ("night-fever", "029-2222")
    assert "closer but closed or out of hours: Day fever clinic" in night["referral"]["reason"]
    with pytest.raises(ScenarioError) as error:
        parse_scenario(json.dumps(factories.small_scenario(places=[{**places[0], "hours": "8-5"}])), "t")
    assert error.value.problems[0].startswith("places[0].hours")


async def test_medical_points_one_per_10000_people(
    app: Any, client: httpx.AsyncClient, xian: Any
) -> None:
    zone = {"id": "zhangba-sealed-2", "name": "Zhangba compound", "status": "sealed",
            "sub_district": "zhangba", "geometry": ZHANGBA_SEALED}
    assert (await client.post("/api/v1/zones", json=zone)).status_code == 201
    plan = "/api/v1/places/medical-points/plan"
    first = (await client.post(plan, json={"zone_id": "zhangba-sealed-2", "population": 25_000})).json()
    assert (first["needed"], len(first["created"]), first["population_estimated"]) == (3, 3, False)
    assert first["units_created"] == ["MP-zhangba-sealed-2-1", "MP-zhangba-sealed-2-2",
                                      "MP-zhangba-sealed-2-3"]
    points = (await client.get("/api/v1/places", params={"zone_id": "zhangba-sealed-2"})).json()
    polygon = shape(ZHANGBA_SEALED)
    assert len(points) == 3
    assert all(polygon.contains(Point(p["lon"], p["lat"])) for p in points)
    units = {u["id"]: u for u in (await client.get("/api/v1/units")).json()}
    assert all(units[p["unit_id"]]["capabilities"] == ["home_visit"] for p in points)
    same = (await client.post(plan, json={"zone_id": "zhangba-sealed-2", "population": 25_000})).json()
    assert (same["created"], len(same["existing"])) == ([], 3)
    grown = (await client.post(plan, json={"zone_id": "zhangba-sealed-2", "population": 35_000})).json()
    assert (grown["needed"], grown["created"]) == (4, ["tmp-zhangba-sealed-2-4"])
    estimated = (await client.post(plan, json={"zone_id": "zhangba-sealed-2"})).json()
    # 2.2 km² at Zhangba's mean density (400,000 people in a 4 km circle): about 17,500 people.
    assert estimated["population_estimated"] is True
    assert 15_000 < estimated["population"] < 20_000
    assert estimated["created"] == []
    # A fever patient inside is visited by a point of their own zone, not Yuhua's.
    visit = (await client.post("/api/v1/routing/evaluate", json={
        "lat": 34.192, "lon": 108.875, "severity": "non_urgent", "flags": {"fever": True}})).json()
    assert visit["outcome"] == "home_visit"
    assert visit["referral"]["served_zone_id"] == "zhangba-sealed-2"
    assert visit["required_unit_capabilities"] == ["home_visit"]

    precaution = await client.post(plan, json={"zone_id": "zhangba-precaution-1"})
    assert precaution.status_code == 409
    assert (await client.post(plan, json={"zone_id": "nowhere"})).status_code == 404
    async with anon(app) as http:
        refused = await http.post(plan, json={"zone_id": "zhangba-sealed-2"},
                                  headers=as_(token(Role.DISPATCHER)))
    assert refused.status_code == 403
    rt = app.state.runtime
    async with rt.sessionmaker() as session:
        created = (await session.scalars(select(AuditEntry.target_id).where(
            AuditEntry.action == "place.created", AuditEntry.target_id.like("tmp-zhangba%")))).all()
    assert sorted(created) == [f"tmp-zhangba-sealed-2-{k}" for k in range(1, 5)]


async def test_estimate_is_capped_by_the_sub_district(app: Any, client: httpx.AsyncClient) -> None:
    """The test town's 100 km² sealed block holds at most North's 100,000 people: 10 points."""
    loaded = await factories.load(app, factories.small_scenario(medical_points={}))
    assert loaded.summary.medical_points == 10
    units = (await client.get("/api/v1/units")).json()
    assert sum(1 for u in units if u["kind"] == "medical_point_team") == 10
    again = await factories.load(app, factories.small_scenario(medical_points={}))
    assert again.summary.medical_points == 10  # loading twice adds nothing


async def test_home_visit_escalates_to_an_ambulance(
    app: Any, client: httpx.AsyncClient, xian: Any, clock: Any
) -> None:
    rt = app.state.runtime
    incident_id = await factories.add_incident(app, **SEALED, severity="non_urgent",
                                               flags={"fever": True})
    first = (await client.post("/api/v1/routing/decisions", json={"incident_id": str(incident_id)})).json()
    assert (first["outcome"], first["transport_mode"], first["required_capabilities"]) == (
        "home_visit", "home_visit", ["home_visit"])
    assert first["destination_hospital_id"] is None
    assert first["decision"]["referral"]["unit_id"] == POINT_UNIT
    clock.advance(600)  # the GP is on scene
    async with rt.sessionmaker() as session:
        with pytest.raises(InvalidInput):
            await escalate_home_visit(session=session, rt=rt, incident_id=incident_id, actor=GP,
                                      severity=Severity.NON_URGENT)
        escalation = await escalate_home_visit(session=session, rt=rt, incident_id=incident_id,
                                               actor=GP, severity=Severity.CRITICAL,
                                               finding="SpO2 88%, chest pain")
    assert str(escalation.home_visit.id) == first["id"]
    out = escalation_out(escalation).model_dump(mode="json")
    assert (out["outcome"], out["home_visit_unit_id"], out["destination_hospital_id"]) == (
        "transport", POINT_UNIT, "xian-first")
    assert (escalation.home_visit_place_id, escalation.home_visit_unit_id) == (POINT, POINT_UNIT)
    after = escalation.decision
    assert (after.outcome, after.transport_mode) == ("transport", "negative_pressure_ambulance")
    assert {"ambulance", "negative_pressure"} <= set(after.required_capabilities)
    assert after.destination_hospital_id == "xian-first"  # sealed, critical: yellow-code (004 一)
    listed = (await client.get("/api/v1/routing/decisions", params={"incident_id": str(incident_id)})).json()
    assert [d["outcome"] for d in listed] == ["home_visit", "transport"]
    async with rt.sessionmaker() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert incident.severity == "critical"
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "incident.escalated"))).one()
        assert (entry.actor, entry.target_id) == ("dr.wang", str(incident_id))
        assert entry.after == {"severity": "critical", "finding": "SpO2 88%, chest pain",
                               "home_visit_decision_id": first["id"]}
        with pytest.raises(NotAHomeVisit):  # it is an ambulance job now
            await escalate_home_visit(session=session, rt=rt, incident_id=incident_id, actor=GP,
                                      severity=Severity.CRITICAL)
    stream = [json.loads(f["e"]) for _, f in await rt.redis.xrange(rt.keys.events)]
    escalated = [e for e in stream if e["type"] == "home_visit.escalated"]
    assert escalated[0]["data"]["decision_id"] == str(after.id)
    assert escalated[0]["data"]["home_visit_unit_id"] == POINT_UNIT


async def test_slo_counts_calls_resolved_without_an_ambulance(
    app: Any, client: httpx.AsyncClient, xian: Any, clock: Any
) -> None:
    patients = [
        ({**PRECAUTION, "severity": "non_urgent", "flags": {"fever": True}}, "refer"),
        ({**SEALED, "severity": "non_urgent", "flags": {"fever": True}}, "home_visit"),
        ({**PRECAUTION, "severity": "non_urgent", "category": "chronic",
          "flags": {"prescription_refill": True}}, "callback_by_doctor"),
        ({**NORMAL, "severity": "non_urgent"}, "transport"),  # walks to the guarantee hospital
        ({**NORMAL, "severity": "critical"}, "transport"),  # the only ambulance
    ]
    rt = app.state.runtime
    now = clock.now()
    for n, (values, outcome) in enumerate(patients):
        incident_id = await factories.add_incident(app, **values)
        decided = (await client.post("/api/v1/routing/decisions",
                                     json={"incident_id": str(incident_id)})).json()
        assert decided["outcome"] == outcome
        async with rt.sessionmaker() as session:
            session.add(Call(id=uuid.uuid4(), telephony_id=f"cti-community-{n}", caller_number=None,
                             line="120-1", rung_at=now - timedelta(seconds=60), received_at=now,
                             status=CallStatus.ENDED, answered_at=now - timedelta(seconds=57),
                             ended_at=now, incident_id=incident_id))
            await session.commit()
    slo = (await client.get("/api/v1/slo")).json()
    quarter = next(w for w in slo["windows"] if w["window"] == "15m")
    assert quarter["calls"] == 5
    assert quarter["without_ambulance"] == 4
    assert quarter["without_ambulance_by_outcome"] == {
        "callback_by_doctor": 1, "home_visit": 1, "refer": 1, "self_travel": 1}


@pytest.mark.parametrize(("then", "when", "field", "message"), [
    ("{outcome: refer, place: [{kind: fever_clinic}]}", "{}", "when.severity", "non-critical"),
    ("{outcome: refer}", "{severity: [non_urgent]}", "then.place", "needs a place"),
    ("{outcome: home_visit, place: [{kind: temporary_medical_point}], "
     "transport: {mode: ambulance, capabilities: [ambulance]}}", "{severity: [non_urgent]}",
     "then.transport.mode", "home_visit travels by one of: home_visit"),
    ("{place: [{kind: oxygen_station}]}", "{severity: [non_urgent]}", "then.place",
     "a place is for outcomes"),
    ("{destination: [{paired: referring}], transport: {mode: home_visit, capabilities: [home_visit]}}",
     "{severity: [urgent]}", "then.transport.mode", "transport travels by one of"),
    ("{outcome: refer, place: [{kind: spa}]}", "{severity: [non_urgent]}", "then.place[0].kind",
     "Input should be"),
])
async def test_community_rules_are_checked_before_they_are_stored(
    client: httpx.AsyncClient, then: str, when: str, field: str, message: str
) -> None:
    source = ("name: t\ndefaults: {transport: {mode: ambulance, capabilities: [ambulance]}}\n"
              "fallback: [{nearest: [emergency]}]\n"
              f"rules:\n  - {{id: care, seed: test, when: {when}, then: {then}}}\n")
    response = await client.post("/api/v1/routing/rule-sets/validate", content=source,
                                 headers={"content-type": "application/yaml"})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == f"rules[0] (care).{field}", error
    assert message in error["message"], error


async def test_an_escalated_home_visit_ends_with_an_ambulance_and_both_jobs_linked(
    app: Any, client: httpx.AsyncClient, xian: Any, clock: Any
) -> None:
    incident_id = await factories.add_incident(app, **SEALED, severity="non_urgent",
                                               flags={"fever": True})
    decided = (await client.post("/api/v1/routing/decisions",
                                 json={"incident_id": str(incident_id)})).json()
    assert decided["outcome"] == "home_visit"
    rec = (await client.get(f"/api/v1/incidents/{incident_id}/recommendations")).json()
    assert rec["candidates"][0]["unit_id"] == POINT_UNIT
    visit = (await client.post("/api/v1/assignments", json={
        "incident_id": str(incident_id), "unit_id": POINT_UNIT})).json()
    await client.post(f"/api/v1/assignments/{visit['id']}/acknowledge")
    for to in ("en_route", "on_scene"):
        moved = await client.post(f"/api/v1/units/{POINT_UNIT}/status", json={"status": to})
        assert moved.status_code == 200
    clock.advance(600)  # the GP has seen the patient
    # The point's GP (a crew token bound to the team's unit) calls for an ambulance.
    gp = {"Authorization": f"Bearer {token_for('crew', unit_id=POINT_UNIT, name='dr.wang')}"}
    other = {"Authorization": f"Bearer {token_for('crew', unit_id='GX-01')}"}
    body = {"severity": "critical", "finding": "SpO2 88%, chest pain"}
    refused = await client.post(f"/api/v1/incidents/{incident_id}/escalate", json=body,
                                headers=other)
    assert refused.status_code == 403
    response = await client.post(f"/api/v1/incidents/{incident_id}/escalate", json=body, headers=gp)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["escalation"]["outcome"] == "transport"
    ambulance = out["assignment"]
    assert ambulance is not None, out["warnings"]
    assert ambulance["escalated_from_id"] == visit["id"] == out["home_visit_assignment_id"]
    assert ambulance["destination_hospital_id"] == "xian-first"
    unit = (await client.get(f"/api/v1/units/{ambulance['unit_id']}")).json()
    assert "negative_pressure" in unit["capabilities"]
    assert unit["status"] == "assigned"
    # The team hands over to the crew and leaves; the incident stays open for the ambulance.
    left = await client.post(f"/api/v1/units/{POINT_UNIT}/status", json={"status": "available"})
    assert left.status_code == 200
    jobs = {a["id"]: a for a in (await client.get(
        "/api/v1/assignments", params={"incident_id": str(incident_id)})).json()}
    assert jobs[visit["id"]]["status"] == "completed"
    assert jobs[ambulance["id"]]["status"] == "confirmed"
    incident = (await client.get(f"/api/v1/incidents/{incident_id}")).json()
    assert incident["status"] == "dispatched"
    assert incident["severity"] == "critical"
