"""Structured triage: recorded on the incident, used by routing, carried by the pre-arrival
notice to the receiving hospital (API and /ws/hospital/{id}); a location outside the service
area is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.audit.models import AuditEntry
from dispatch.clock import ManualClock
from dispatch.incidents.models import Incident
from tests import factories
from tests.realtime_helpers import events, open_socket
from tests.test_calls import ready
from tests.test_handovers import assignment_to, transport
from tests.test_incidents import answered_call, incident_body

STROKE = {"protocol": "stroke", "age_years": 71, "sex": "female",
          "danger_signs": ["face_arm_speech", "face_arm_speech"]}


async def test_the_pre_arrival_notice_carries_the_triage_and_the_onset(
    app: Any, server: str, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, factories.small_scenario())
    onset = clock.now() - timedelta(minutes=40)
    triage = {**STROKE, "danger_signs": ["face_arm_speech"], "last_known_well": onset.isoformat()}
    hospital, _ = await open_socket(server, "/ws/hospital/general")
    async with hospital:
        assignment = await assignment_to(app, "general", severity="critical", category="ordinary",
                                         complaint="左侧无力", triage=triage)
        await transport(app, assignment)
        notice = (await events(hospital, 1))[0]
    assert notice["type"] == "handover.notice"
    assert notice["data"]["triage"] == triage
    assert notice["data"]["triage"]["last_known_well"] == onset.isoformat()
    [incoming] = (await client.get("/api/v1/hospitals/general/incoming")).json()
    assert incoming["id"] == notice["data"]["id"]
    assert incoming["triage"] == triage
    [listed] = (await client.get("/api/v1/handovers", params={"hospital_id": "general"})).json()
    assert listed["triage"]["protocol"] == "stroke"


async def test_triage_is_recorded_audited_and_decides_the_pathway(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    await ready(client, "P1")
    onset = clock.now() - timedelta(minutes=30)
    body = incident_body(await answered_call(client, clock), category="ordinary",
                         registered_hospital_id=None, flags={},
                         triage={**STROKE, "last_known_well": onset.isoformat()})
    created = await client.post("/api/v1/incidents", json=body)
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["complaint"] == "contractions every 3 minutes"  # the free text is kept
    assert incident["triage"] == {**STROKE, "danger_signs": ["face_arm_speech"],
                                  "last_known_well": onset.isoformat().replace("+00:00", "Z")}
    pathway = incident["decision"]["pathway"]
    assert (pathway["id"], pathway["onset_minutes"]) == ("stroke", 30)
    assert "als" in incident["decision"]["required_unit_capabilities"]
    # The small scenario has no stroke centre: the rules decide and say so.
    assert any("no open hospital has stroke centre" in w for w in incident["decision"]["warnings"])

    clock.advance(5)  # the next decision is the latest
    changed = await client.patch(f"/api/v1/incidents/{incident['id']}",
                                 json={"triage": {"protocol": "chest_pain", "age_years": 71}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["triage"] == {"protocol": "chest_pain", "age_years": 71}
    assert changed.json()["decision"]["pathway"]["id"] == "chest-pain"
    before, after = (await db.execute(select(AuditEntry.before, AuditEntry.after).where(
        AuditEntry.action == "incident.update", AuditEntry.target_id == incident["id"]))).one()
    assert before["triage"]["protocol"] == "stroke"
    assert after["triage"] == {"protocol": "chest_pain", "age_years": 71}


@pytest.mark.parametrize(("triage", "field"), [
    ({"protocol": "headache"}, "body.triage.protocol"),
    ({"age_years": 131}, "body.triage.age_years"),
    ({"age_years": "old"}, "body.triage.age_years"),
    ({"sex": "x"}, "body.triage.sex"),
    ({"danger_signs": ["sneezing"]}, "body.triage.danger_signs"),
    ({"last_known_well": "2026-12-07T08:00:00"}, "body.triage.last_known_well"),  # no zone
    ({"pulse": 80}, "body.triage.pulse"),
], ids=["protocol", "age-high", "age-text", "sex", "sign", "naive-time", "unknown-field"])
async def test_bad_triage_is_refused_naming_the_field(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection,
    triage: dict[str, Any], field: str,
) -> None:
    await ready(client, "P1")
    body = incident_body(await answered_call(client, clock), triage=triage)
    response = await client.post("/api/v1/incidents", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"].removesuffix(".0") for e in response.json()["errors"]] == [field], (
        response.json())
    assert (await db.scalars(select(Incident))).all() == []


async def test_an_onset_in_the_future_is_refused(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    await ready(client, "P1")
    later = (clock.now() + timedelta(hours=1)).isoformat()
    body = incident_body(await answered_call(client, clock), triage={"last_known_well": later})
    response = await client.post("/api/v1/incidents", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.triage.last_known_well"
    assert "future" in response.json()["errors"][0]["message"]
    assert (await db.scalars(select(Incident))).all() == []


async def test_a_location_outside_the_service_area_is_refused(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    """Never routed 11,000 km away: the call-taker is told to check the location."""
    await ready(client, "P1")
    call_id = await answered_call(client, clock)
    far = {"address": "Null Island", "lat": 0.0, "lon": 0.0}
    response = await client.post("/api/v1/incidents", json=incident_body(call_id, location=far))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "body.location"
    assert "outside the service area" in error["message"]
    assert (await db.scalars(select(Incident))).all() == []

    created = await client.post("/api/v1/incidents", json=incident_body(call_id))
    assert created.status_code == 201, created.text
    moved = await client.patch(f"/api/v1/incidents/{created.json()['id']}", json={"location": far})
    assert moved.status_code == 422
    assert moved.json()["errors"][0]["field"] == "body.location"
    row = (await db.execute(select(Incident.lat, Incident.lon))).one()
    assert tuple(row) == (34.18, 108.85)

    evaluated = await client.post("/api/v1/routing/evaluate",
                                  json={"lat": -33.9, "lon": 151.2, "severity": "critical"})
    assert evaluated.status_code == 422
    assert evaluated.json()["errors"][0]["field"] == "body.lat"


@pytest.mark.parametrize(("flags", "field"), [
    ({"fever": "yes"}, "body.flags.fever"),
    ({"isolation": 1}, "body.flags.isolation"),
    ({"stroke": True}, "body.flags.stroke"),
], ids=["text-for-bool", "number-for-bool", "unknown-flag"])
async def test_evaluate_checks_flags_as_incidents_do(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, flags: dict[str, Any], field: str
) -> None:
    await ready(client, "P1")
    incident = await client.post("/api/v1/incidents",
                                 json=incident_body(await answered_call(client, clock), flags=flags))
    evaluated = await client.post("/api/v1/routing/evaluate",
                                  json={"lat": 34.18, "lon": 108.85, "severity": "urgent",
                                        "flags": flags})
    for response in (incident, evaluated):
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
