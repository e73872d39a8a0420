"""Incidents recorded by the answering call-taker, with validation and duplicate callers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.audit.models import AuditEntry
from dispatch.clock import ManualClock
from dispatch.incidents.models import Incident
from tests.test_calls import post_call, ready


async def answered_call(client: httpx.AsyncClient, clock: ManualClock, position: str = "P1") -> str:
    call = await post_call(client, clock)
    response = await client.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": position})
    assert response.status_code == 200, response.text
    return str(call["id"])


def incident_body(call_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": call_id,
        "location": {"address": "North Road 1", "lat": 34.18, "lon": 108.85},
        "severity": "critical",
        "category": "pregnant",
        "infection_status": "none",
        "flags": {"in_labour": True},
        "complaint": "contractions every 3 minutes",
        "registered_hospital_id": "general",
    }
    body.update(changes)
    return body


async def test_create_update_and_link_duplicate_caller(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    await ready(client, "P1", "P2")
    first = await answered_call(client, clock, "P1")
    created = await client.post("/api/v1/incidents", json=incident_body(first))
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["status"] == "open"
    assert incident["flags"]["in_labour"] is True
    assert incident["call_ids"] == [first]
    # Routed as soon as it has a location: critical, so an ambulance to the nearest capable
    # open hospital (the suspended one, nearer, is never chosen).
    assert incident["decision"]["destination"]["hospital_id"] == "general"
    assert incident["decision"]["transport_mode"] == "negative_pressure_ambulance"  # sealed block
    assert incident["zone_status"] == "sealed"
    assert (await client.get(f"/api/v1/calls/{first}")).json()["incident_id"] == incident["id"]

    updated = await client.patch(f"/api/v1/incidents/{incident['id']}",
                                 json={"severity": "urgent", "notes": "waters broke"})
    assert updated.json()["severity"] == "urgent"
    assert updated.json()["category"] == "pregnant"  # untouched

    second = await answered_call(client, clock, "P2")
    linked = await client.post(f"/api/v1/incidents/{incident['id']}/calls", json={"call_id": second})
    assert linked.json()["call_ids"] == [first, second]
    twice = await client.post("/api/v1/incidents", json=incident_body(second))
    assert twice.status_code == 409

    actions = (await db.execute(select(AuditEntry.action, AuditEntry.before, AuditEntry.after).where(
        AuditEntry.target_id == incident["id"]).order_by(AuditEntry.id))).all()
    assert [a.action for a in actions] == ["incident.create", "incident.update", "incident.link_call"]
    assert actions[1].before["severity"] == "critical"
    assert actions[1].after["severity"] == "urgent"


async def test_invalid_incidents_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any, db: AsyncConnection
) -> None:
    await ready(client, "P1")
    call_id = await answered_call(client, clock)
    cases = [
        (incident_body(call_id, severity="dying"), "body.severity"),
        (incident_body(call_id, category="tourist"), "body.category"),
        (incident_body(call_id, location={"lat": 95, "lon": 108}), "body.location.lat"),
        (incident_body(call_id, location={"lat": 34.1}), "body.location"),
        (incident_body(call_id, flags={"vip": True}), "body.flags.vip"),
        (incident_body(call_id, registered_hospital_id="nowhere"), "body.registered_hospital_id"),
        (incident_body("00000000-0000-0000-0000-000000000000"), "body.call_id"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/incidents", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert (await db.execute(select(Incident))).first() is None

    ringing = await post_call(client, clock)
    early = await client.post("/api/v1/incidents", json=incident_body(ringing["id"]))
    assert early.status_code == 409  # answer the call first

    made = (await client.post("/api/v1/incidents", json=incident_body(call_id))).json()
    for patch, field in [({"severity": None}, "body.severity"), ({}, "body"),
                         ({"status": "dispatched"}, "body.status")]:
        response = await client.patch(f"/api/v1/incidents/{made['id']}", json=patch)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
    unchanged = (await client.get(f"/api/v1/incidents/{made['id']}")).json()
    assert unchanged["severity"] == "critical"
    assert unchanged["status"] == "open"


async def test_a_new_critical_incident_is_sent_a_unit_at_once_when_auto_dispatch_is_on(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.state.runtime.settings, "auto_dispatch_severities", ["critical"])
    await ready(client, "P1")
    created = await client.post("/api/v1/incidents", json=incident_body(await answered_call(client, clock)))
    assert created.status_code == 201, created.text
    incident = created.json()
    # The answer is the incident as recorded: its one call and the routing decision just made.
    assert len(incident["call_ids"]) == 1
    assert incident["decision"]["destination"]["hospital_id"] == "general"
    jobs = (await client.get(f"/api/v1/assignments?incident_id={incident['id']}")).json()
    assert [(j["status"], j["confirmed_by"]) for j in jobs] == [("confirmed", "hub:auto-dispatch")]
    assert jobs[0]["unit_id"] in ("A1", "A2")  # the two units at the North post
    assert (await client.get(f"/api/v1/incidents/{incident['id']}")).json()["status"] == "dispatched"
