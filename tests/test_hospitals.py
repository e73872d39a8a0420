"""Hospitals: audited changes, suspension and full categories reroute, bad input changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.audit import service as audit_service
from tests.conftest import AUTH, token_for
from tests.factories import add_incident

NEW = {"id": "field-hospital", "name": "Field Hospital", "name_zh": "野战医院", "lat": 34.234,
       "lon": 108.857, "level": "makeshift", "capabilities": ["emergency", "yellow_code"]}
SEALED = {"lat": 34.233, "lon": 108.856}


async def audit_of(app: Any, hospital_id: str) -> list[Any]:
    async with app.state.runtime.sessionmaker() as session:
        return await audit_service.entries_for(session, target_type="hospital", target_id=hospital_id)


async def destination(client: httpx.AsyncClient, **patient: Any) -> str | None:
    response = await client.post("/api/v1/routing/evaluate", json={**SEALED, **patient})
    assert response.status_code == 200, response.text
    found = response.json()["destination"]
    return None if found is None else str(found["hospital_id"])


async def test_new_hospital_is_routed_to_at_once(client: httpx.AsyncClient, app: Any, xian: Any) -> None:
    assert await destination(client, severity="urgent") == "xian-first"
    created = await client.post("/api/v1/hospitals", json=NEW)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "open"
    # The nearest yellow-code hospital for a sealed-area patient is now the new one.
    assert await destination(client, severity="urgent") == "field-hospital"
    entries = await audit_of(app, "field-hospital")
    assert [(e.action, e.before, e.after["capabilities"]) for e in entries] == [
        ("hospital.created", None, ["emergency", "yellow_code"])]
    assert (await client.post("/api/v1/hospitals", json=NEW)).status_code == 409


async def test_suspending_reroutes_every_later_decision(
    client: httpx.AsyncClient, app: Any, xian: Any
) -> None:
    assert await destination(client, severity="critical") == "xian-first"
    suspended = await client.patch("/api/v1/hospitals/xian-first",
                                   json={"status": "suspended", "status_reason": "停诊 (test)"})
    assert suspended.status_code == 200
    assert suspended.json()["status_changed_at"] is not None
    # No yellow-code hospital is open: the critical rule's next step, nearest emergency+ICU.
    assert await destination(client, severity="critical") == "xian-medical-university-first"
    reopened = await client.patch("/api/v1/hospitals/xian-first", json={"status": "open"})
    assert reopened.json()["status"] == "open"
    assert reopened.json()["status_reason"] is None
    assert await destination(client, severity="critical") == "xian-first"
    entries = await audit_of(app, "xian-first")
    assert [e.action for e in entries] == ["hospital.suspended", "hospital.reopened"]
    assert (entries[0].before["status"], entries[0].after["status"]) == ("open", "suspended")
    assert entries[0].after["status_reason"] == "停诊 (test)"


async def test_full_category_is_ranked_last(client: httpx.AsyncClient, xian: Any) -> None:
    response = await client.patch("/api/v1/hospitals/xian-first",
                                  json={"full_categories": ["ordinary", "ordinary"]})
    assert response.json()["full_categories"] == ["ordinary"]
    decision = (await client.post("/api/v1/routing/evaluate",
                                  json={**SEALED, "severity": "urgent"})).json()
    # The only yellow-code hospital is full for ordinary patients: still chosen, never refused.
    assert decision["destination"]["hospital_id"] == "xian-first"
    assert decision["destination"]["full"] is True
    assert "may not refuse" in decision["destination"]["reason"]
    # The rule names no other hospital: the alternatives come from the rule set's fallback.
    assert [a["hospital_id"] for a in decision["alternatives"][:2]] == [
        "xian-medical-university-first", "xian-ninth"]
    assert decision["alternatives"][0]["reason"].startswith(
        "fallback: 保障医院，由近及远 (guarantee hospital, nearest first)")
    critical = (await client.post("/api/v1/routing/evaluate",
                                  json={**SEALED, "severity": "critical"})).json()
    assert critical["destination"]["full"] is False  # "full" does not apply to critical patients


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW, "lat": 134}, "body.lat"),
    ({**NEW, "capabilities": ["teleportation"]}, "body.capabilities.0"),
    ({**NEW, "designations": ["vip"]}, "body.designations.0"),
    ({**NEW, "full_categories": ["adult"]}, "body.full_categories.0"),
    ({**NEW, "status": "closed"}, "body.status"),
    ({**NEW, "id": "Bad Id"}, "body.id"),
    ({**NEW, "beds": 12}, "body.beds"),
    ({k: v for k, v in NEW.items() if k != "lon"}, "body.lon"),
])
async def test_bad_hospital_is_rejected_naming_the_field(
    client: httpx.AsyncClient, app: Any, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/hospitals", json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get("/api/v1/hospitals/field-hospital")).status_code == 404
    assert await audit_of(app, "field-hospital") == []


async def test_bad_hospital_change_changes_nothing(client: httpx.AsyncClient, xian: Any) -> None:
    before = (await client.get("/api/v1/hospitals/xian-first")).json()
    for body, field in [({"status": "on-fire"}, "body.status"), ({"name": None}, "body.name"),
                        ({"full_categories": ["x"]}, "body.full_categories.0"),
                        ({"lon": 500}, "body.lon"), ({"id": "other"}, "body.id"),
                        ({"status": None}, "body.status")]:
        response = await client.patch("/api/v1/hospitals/xian-first", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get("/api/v1/hospitals/xian-first")).json() == before
    assert (await client.patch("/api/v1/hospitals/nowhere", json={"status": "open"})).status_code == 404


async def test_delete_only_when_no_incident_refers_to_it(
    client: httpx.AsyncClient, app: Any, xian: Any
) -> None:
    await add_incident(app, lat=34.2, lon=108.9, category="dialysis", treating_hospital_id="xidian")
    refused = await client.delete("/api/v1/hospitals/xidian")
    assert refused.status_code == 409
    assert "suspend it instead" in refused.json()["detail"]
    assert (await client.delete("/api/v1/hospitals/fengcheng")).status_code == 204
    assert (await client.get("/api/v1/hospitals/fengcheng")).status_code == 404
    assert [e.action for e in await audit_of(app, "fengcheng")] == ["hospital.deleted"]


async def test_a_hospital_terminal_may_change_only_its_own_full_categories(
    client: httpx.AsyncClient, app: Any, xian: Any
) -> None:
    desk = token_for("hospital", hospital_id="xidian", name="xidian-desk")
    client.headers["Authorization"] = f"Bearer {desk}"
    try:
        own = await client.patch("/api/v1/hospitals/xidian", json={"full_categories": ["dialysis"]})
        assert own.status_code == 200
        assert (await client.patch("/api/v1/hospitals/xidian", json={"name": "X"})).status_code == 403
        other = await client.patch("/api/v1/hospitals/xian-ninth", json={"status": "suspended"})
        assert other.status_code == 403
        assert (await client.post("/api/v1/hospitals", json=NEW)).status_code == 403
    finally:
        client.headers.update(AUTH)
    entries = await audit_of(app, "xidian")
    assert [(e.actor, e.actor_role) for e in entries] == [("xidian-desk", "hospital")]
