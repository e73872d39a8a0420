"""Decisions for incidents are recorded with their rule-set version; the what-if endpoint explains."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.incidents.models import Incident
from dispatch.realtime import archive
from dispatch.realtime.models import Event
from dispatch.routing.models import RoutingDecision
from tests.factories import add_incident

SEALED = {"lat": 34.233, "lon": 108.856}
CONTROLLED = {"lat": 34.242, "lon": 108.866}
RULES_V2 = """
name: guarantee only
defaults:
  transport: {mode: ambulance, capabilities: [ambulance]}
fallback:
  - {nearest: [emergency]}
rules:
  - id: guarantee
    seed: "000 二(四)2"
    then:
      destination: [{designated: guarantee}]
"""


async def decide(client: httpx.AsyncClient, incident_id: uuid.UUID) -> dict[str, Any]:
    response = await client.post("/api/v1/routing/decisions", json={"incident_id": str(incident_id)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_decision_is_recorded_on_the_incident(
    client: httpx.AsyncClient, app: Any, xian: Any
) -> None:
    incident_id = await add_incident(app, **SEALED, severity="critical", category="pregnant",
                                     sub_district_id="yuhua", registered_hospital_id="xjtu-first")
    body = await decide(client, incident_id)
    assert body["incident_id"] == str(incident_id)
    assert body["rule_set_version"] == 1
    # 003 4: her registered hospital, since the yellow-code hospital has no obstetrics.
    assert body["destination_hospital_id"] == "xjtu-first"
    assert body["transport_mode"] == "negative_pressure_ambulance"
    assert body["required_capabilities"] == ["ambulance", "negative_pressure", "als"]
    assert body["matched_rules"] == ["pathway:critical-obstetric", "critical-no-wait",
                                     "critical-sealed-or-isolated", "critical-pregnant", "critical"]
    assert body["decided_by"] == "test-operator"
    decision = body["decision"]
    assert decision["zone"] == {"id": "yuhua-sealed-1", "name": "Yuhuazhai compound (demo)",
                                "name_zh": "鱼化寨小区（演示）", "status": "sealed"}
    assert decision["paperwork"] == []
    assert decision["closed_loop"] is True
    assert decision["matched_rules"][2]["why"] == "severity=critical, zone_status=sealed (yuhua-sealed-1)"
    assert decision["pathway"]["outside_rule_set"] is True

    rt = app.state.runtime
    await archive.ensure_group(rt)
    await archive.archive_once(rt, "test")
    async with rt.sessionmaker() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.zone_id, incident.zone_status) == ("yuhua-sealed-1", "sealed")
        row = await session.get(RoutingDecision, uuid.UUID(body["id"]))
        assert row is not None
        assert row.decision["destination"]["hospital_id"] == "xjtu-first"
        events = (await session.scalars(select(Event).where(Event.type == "routing.decided"))).all()
        assert [e.data["decision_id"] for e in events] == [body["id"]]
        assert events[0].scope == {"c": 1, "a": "yuhua"}
    stream = await rt.redis.xrange(rt.keys.events)
    published = [json.loads(fields["e"]) for _, fields in stream]
    decided = [e for e in published if e["type"] == "routing.decided"]
    assert decided[0]["data"]["destination"]["hospital_id"] == "xjtu-first"
    assert decided[0]["data"]["rule_set_version"] == 1

    listed = (await client.get("/api/v1/routing/decisions",
                               params={"incident_id": str(incident_id)})).json()
    assert [d["id"] for d in listed] == [body["id"]]


async def test_each_decision_keeps_the_version_that_made_it(
    client: httpx.AsyncClient, app: Any, xian: Any, clock: Any
) -> None:
    incident_id = await add_incident(app, **CONTROLLED, severity="urgent", category="dialysis")
    first = await decide(client, incident_id)
    clock.advance(30)
    assert (first["destination_hospital_id"], first["rule_set_version"]) == ("xian-ninth", 1)
    await client.post("/api/v1/routing/rule-sets", params={"activate": "true"}, content=RULES_V2,
                      headers={"content-type": "application/yaml"})
    second = await decide(client, incident_id)
    clock.advance(30)
    assert (second["destination_hospital_id"], second["rule_set_version"]) == (
        "xian-medical-university-first", 2)
    assert second["matched_rules"] == ["guarantee"]
    await client.patch("/api/v1/hospitals/xian-medical-university-first", json={"status": "suspended"})
    third = await decide(client, incident_id)
    assert third["destination_hospital_id"] == "xian-ninth"  # fallback: nearest emergency
    assert "guarantee" in third["decision"]["warnings"][0]
    history = (await client.get("/api/v1/routing/decisions",
                                params={"incident_id": str(incident_id)})).json()
    assert [(d["rule_set_version"], d["destination_hospital_id"]) for d in history] == [
        (1, "xian-ninth"), (2, "xian-medical-university-first"), (2, "xian-ninth")]


async def test_incident_flags_reach_the_rules(client: httpx.AsyncClient, app: Any, xian: Any) -> None:
    isolated = await add_incident(app, lat=34.125, lon=108.815, severity="non_urgent",
                                  flags={"isolation": True, "has_certificate": True, "floor": 6})
    body = await decide(client, isolated)
    assert body["destination_hospital_id"] == "xian-first"  # yellow-code hospital (004 一)
    assert body["transport_mode"] == "negative_pressure_ambulance"
    assert body["decision"]["paperwork"] == []
    assert "community-certificate-held" in body["matched_rules"]
    assert body["decision"]["zone"]["status"] == "normal"


async def test_incidents_that_cannot_be_routed(client: httpx.AsyncClient, app: Any, xian: Any) -> None:
    nowhere = await add_incident(app, lat=None, lon=None)
    response = await client.post("/api/v1/routing/decisions", json={"incident_id": str(nowhere)})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/not-routable"
    odd = await add_incident(app, **SEALED, severity="dying")
    assert (await client.post("/api/v1/routing/decisions",
                              json={"incident_id": str(odd)})).status_code == 409
    missing = await client.post("/api/v1/routing/decisions", json={"incident_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    for body, field in [({"incident_id": "12"}, "body.incident_id"), ({}, "body.incident_id"),
                        ({"incident_id": str(nowhere), "x": 1}, "body.x")]:
        bad = await client.post("/api/v1/routing/decisions", json=body)
        assert bad.status_code == 422
        assert field in [e["field"] for e in bad.json()["errors"]]
    async with app.state.runtime.sessionmaker() as session:
        assert (await session.scalars(select(RoutingDecision))).all() == []


@pytest.mark.parametrize(("body", "field"), [
    ({**SEALED, "severity": "dying"}, "body.severity"),
    ({**SEALED, "severity": "urgent", "category": "astronaut"}, "body.category"),
    ({**SEALED, "severity": "urgent", "infection_status": "maybe"}, "body.infection_status"),
    ({"lat": 91, "lon": 108.8, "severity": "urgent"}, "body.lat"),
    ({"lat": 34.2, "severity": "urgent"}, "body.lon"),
    ({**SEALED, "severity": "urgent", "zone_status": "red"}, "body.zone_status"),
    ({**SEALED, "severity": "urgent", "at": "2026-01-01T00:00:00"}, "body.at"),
    ({**SEALED, "severity": "urgent", "registered_hospital_id": "atlantis"}, "body.registered_hospital_id"),
    ({**SEALED, "severity": "urgent", "treating_hospital_id": "atlantis"}, "body.treating_hospital_id"),
    ({**SEALED, "severity": "urgent", "flags": {"x": [1]}}, "body.flags.x"),
    ({**SEALED, "severity": "urgent", "pregnant": True}, "body.pregnant"),
])
async def test_evaluate_names_the_bad_field(
    client: httpx.AsyncClient, xian: Any, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/routing/evaluate", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


async def test_what_if_zone_status(client: httpx.AsyncClient, xian: Any) -> None:
    where = {"lat": 34.125, "lon": 108.815, "severity": "non_urgent"}
    normal = (await client.post("/api/v1/routing/evaluate", json=where)).json()
    assert (normal["zone"]["status"], normal["transport_mode"]) == ("normal", "self_travel")
    sealed = (await client.post("/api/v1/routing/evaluate", json={**where, "zone_status": "sealed"})).json()
    # 004 二, 000 三(三): non-urgent sealed-area patients go by the volunteer fleet's vehicle.
    assert (sealed["zone"]["status"], sealed["transport_mode"]) == ("sealed", "closed_loop_vehicle")
    assert sealed["destination"]["hospital_id"] == "xian-first"
    assert sealed["paperwork"] == ["community_certificate"]


async def test_routing_on_the_embedded_default(tmp_path: Any) -> None:
    """`dispatch demo` runs on SQLite and an in-process Redis: routing works there too."""
    from dispatch.config import Settings
    from dispatch.main import create_app
    from tests.conftest import TEST_SECRET, client_for, running
    from tests.factories import load_builtin

    app = create_app(Settings(data_dir=tmp_path, background_tasks=False, secret_key=TEST_SECRET))
    async with running(app):
        await load_builtin(app)
        incident_id = await add_incident(app, **CONTROLLED, severity="non_urgent", category="cancer")
        async with client_for(app) as http:
            body = await decide(http, incident_id)
            assert (body["destination_hospital_id"], body["transport_mode"]) == (
                "xjtu-first", "closed_loop_vehicle")
            suspended = await http.patch("/api/v1/hospitals/xjtu-first", json={"status": "suspended"})
            assert suspended.status_code == 200
            again = await decide(http, incident_id)
            assert again["destination_hospital_id"] == "shaanxi-provincial-peoples"
            zone = await http.patch("/api/v1/zones/yuhua-controlled-1", json={"status": "normal"})
            assert zone.status_code == 200
            lifted = await decide(http, incident_id)
            assert lifted["decision"]["zone"]["status"] == "normal"
            assert lifted["transport_mode"] == "ambulance"
