"""Incidents a dispatcher finds again: numbered by day, listed while open, searched by number,
caller or words, reopened with a reason, and told as a timeline of who did what when."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from dispatch.audit.models import AuditEntry
from dispatch.clock import ManualClock
from dispatch.incidents.models import IncidentSequence
from tests import factories
from tests.conftest import client_for, running, token_for
from tests.test_calls import ready
from tests.test_incidents import answered_call, incident_body


async def record(client: httpx.AsyncClient, clock: ManualClock, **changes: Any) -> dict[str, Any]:
    call = await answered_call(client, clock, "P1")
    created = await client.post("/api/v1/incidents", json=incident_body(call, **changes))
    assert created.status_code == 201, created.text
    await client.post(f"/api/v1/calls/{call}/ended", json={})
    await client.put("/api/v1/positions/P1/state", json={"state": "ready"})
    return dict(created.json())


async def test_incidents_are_numbered_by_the_centres_day(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    clock.set(datetime(2026, 12, 7, 15, 59, tzinfo=UTC))  # 23:59 in Xi'an
    await ready(client, "P1")
    first = await record(client, clock)
    second = await record(client, clock)
    third = await record(client, clock)
    clock.set(datetime(2026, 12, 7, 16, 1, tzinfo=UTC))  # 00:01 the next day in Xi'an
    fourth = await record(client, clock)
    assert [first["number"], second["number"], third["number"], fourth["number"]] == [
        "20261207-0001", "20261207-0002", "20261207-0003", "20261208-0001"]


async def test_the_ten_thousandth_incident_of_a_day_keeps_every_digit(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    clock.set(datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    async with app.state.sessionmaker() as session:
        await session.execute(insert(IncidentSequence).values(day="20261207", last=9998))
        await session.commit()
    await ready(client, "P1")
    numbers = [(await record(client, clock))["number"] for _ in range(2)]
    assert numbers == ["20261207-9999", "20261207-10000"]


@pytest.mark.committed
async def test_incidents_recorded_at_the_same_moment_get_one_number_each(
    make_app: Callable[..., Any]
) -> None:
    """Two hub instances, twelve call-takers saving at once: twelve numbers, none twice."""
    first, second = make_app(), make_app()
    async with running(first), running(second):
        area = factories.small_scenario()
        area["positions"] += [{"id": f"P{n}", "name": f"Position {n}"} for n in range(3, 13)]
        await factories.load(first, area)
        async with client_for(first) as one, client_for(second) as two:
            positions = [f"P{n}" for n in range(1, 13)]
            calls = []
            for n, position in enumerate(positions):
                http = one if n % 2 else two
                assert (await http.post(f"/api/v1/positions/{position}/login",
                                        json={"user": f"ct{n}", "ready": True})).status_code == 200
                call = (await http.post("/api/v1/calls", json={
                    "telephony_call_id": f"same-moment-{n}", "line": "120-1",
                    "rung_at": datetime.now(UTC).isoformat()})).json()
                answered = await http.post(f"/api/v1/calls/{call['id']}/answer",
                                           json={"position_id": position})
                assert answered.status_code == 200, answered.text
                calls.append((http, call["id"]))
            created = await asyncio.gather(*(http.post("/api/v1/incidents", json=incident_body(
                call_id, severity="urgent", category="ordinary", flags={},
                registered_hospital_id=None)) for http, call_id in calls))
    assert [c.status_code for c in created] == [201] * 12
    numbers = sorted(c.json()["number"] for c in created)
    day = numbers[0].split("-")[0]
    assert numbers == [f"{day}-{n:04d}" for n in range(1, 13)]


async def test_open_incidents_and_a_search_of_earlier_ones(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    await ready(client, "P1")
    fall = await record(client, clock, severity="urgent", category="ordinary", flags={},
                        complaint="fell down the stairs", registered_hospital_id=None,
                        location={"address": "South Lane 9", "lat": 34.08, "lon": 108.85})
    labour = await record(client, clock)
    listed = (await client.get("/api/v1/incidents", params={"status": ["open", "dispatched"]})).json()
    assert [i["id"] for i in listed] == [labour["id"], fall["id"]]
    assert all(i["number"] and i["decision"] for i in listed)

    by_words = (await client.get("/api/v1/incidents", params={"q": "stairs"})).json()
    by_number = (await client.get("/api/v1/incidents", params={"q": labour["number"]})).json()
    by_caller = (await client.get("/api/v1/incidents", params={"q": "1380000"})).json()
    critical = (await client.get("/api/v1/incidents", params={"severity": "critical"})).json()
    sealed = (await client.get("/api/v1/incidents", params={"zone_status": "sealed"})).json()
    outside = (await client.get("/api/v1/incidents", params={"zone_status": "normal"})).json()
    assert [i["id"] for i in by_words] == [fall["id"]]
    assert [i["id"] for i in by_number] == [labour["id"]]
    assert {i["id"] for i in by_caller} == {fall["id"], labour["id"]}
    assert [i["id"] for i in critical] == [labour["id"]]
    assert labour["id"] in [i["id"] for i in sealed]
    assert [i["id"] for i in outside] == [fall["id"]]
    bad = await client.get("/api/v1/incidents", params={"q": "a\x00b"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.q"


async def test_an_incident_is_placed_in_its_sub_district_and_listed_by_it(
    client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    """The zone's sub-district, else the one whose disc holds the point; moving the incident
    moves it; the console's area filter (the list's sub_district_id) finds it there."""
    await ready(client, "P1")
    sealed = await record(client, clock)  # in zone sealed-1, which belongs to "north"
    # Just outside the zone, 2.3 km from south's centre (its disc: 3 km).
    edge = await record(client, clock, location={"address": "South Edge 2", "lat": 34.099,
                                                 "lon": 108.85})
    far = await record(client, clock, location={"address": "Far Field", "lat": 34.05, "lon": 108.85})
    assert (sealed["zone_status"], sealed["sub_district_id"]) == ("sealed", "north")
    assert (edge["zone_status"], edge["sub_district_id"]) == ("normal", "south")
    assert far["sub_district_id"] is None  # 7.8 km from the nearest centre, beyond every disc

    def listed(area: str) -> Any:
        return client.get("/api/v1/incidents", params={"sub_district_id": area})

    assert [i["id"] for i in (await listed("south")).json()] == [edge["id"]]
    assert [i["id"] for i in (await listed("north")).json()] == [sealed["id"]]
    moved = await client.patch(f"/api/v1/incidents/{far['id']}", json={
        "location": {"address": "North Road 7", "lat": 34.185, "lon": 108.85}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["sub_district_id"] == "north"
    assert {i["id"] for i in (await listed("north")).json()} == {sealed["id"], far["id"]}
    assert (await listed("nowhere")).json() == []
    bad = await listed("a\x01b")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.sub_district_id"


async def test_a_closed_incident_reopens_with_a_reason_and_tells_its_timeline(
    app: Any, client: httpx.AsyncClient, clock: ManualClock, scenario: Any
) -> None:
    await ready(client, "P1")
    incident = await record(client, clock)
    refused = await client.post(f"/api/v1/incidents/{incident['id']}/reopen",
                                json={"reason": "caller rang again"})
    assert refused.status_code == 409  # it is still open
    closed = await client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "cancelled"})
    assert closed.status_code == 200
    call_taker = {"Authorization": f"Bearer {token_for('call_taker')}"}
    crew = {"Authorization": f"Bearer {token_for('crew', unit_id='A1')}"}
    not_theirs = await client.post(f"/api/v1/incidents/{incident['id']}/reopen",
                                   json={"reason": "caller rang again"}, headers=call_taker)
    assert not_theirs.status_code == 403
    assert (await client.get(f"/api/v1/incidents/{incident['id']}/timeline",
                             headers=crew)).status_code == 403
    empty = await client.post(f"/api/v1/incidents/{incident['id']}/reopen", json={"reason": ""})
    assert empty.status_code == 422
    reopened = await client.post(f"/api/v1/incidents/{incident['id']}/reopen",
                                 json={"reason": "caller rang again"})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    async with app.state.runtime.sessionmaker() as session:
        [entry] = (await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "incident.reopen"))).all()
    assert entry.after == {"status": "open", "reason": "caller rang again"}
    steps = (await client.get(f"/api/v1/incidents/{incident['id']}/timeline")).json()
    whats = [s["what"] for s in steps]
    assert whats[:3] == ["call.received", "call.answer", "incident.create"]
    assert whats[-1] == "incident.reopen"
    assert "incident.update" in whats
    assert all(s["who"] for s in steps)
    assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)
