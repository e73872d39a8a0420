"""The hospital side: pre-arrival notice, the 15-minute handover clock, capacity, suspensions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dispatch.audit.schemas import Actor
from dispatch.clock import ManualClock
from dispatch.errors import InvalidInput
from dispatch.fleet.enums import UnitStatus
from dispatch.fleet.models import Assignment, Unit
from dispatch.fleet.service import live
from dispatch.handovers import service as handovers
from dispatch.runtime import Runtime
from dispatch.workflows import dispatch as fleet
from dispatch.workflows import unit_status
from dispatch.workflows.suspension import apply_scheduled
from tests import factories
from tests.conftest import client_for, running
from tests.realtime_helpers import events, no_event, open_socket

CREW = Actor(name="crew-A1", role="crew", source="test")
DISPATCHER = Actor(name="dispatcher-1", role="dispatcher", source="test")

SECOND_HOSPITAL = {
    "id": "east", "name": "East Hospital", "location": {"lat": 34.17, "lon": 108.95},
    "level": "tertiary", "capabilities": ["emergency", "icu", "obstetrics", "dialysis"],
    "designations": ["dialysis"],
}


def scenario_with_two_hospitals() -> dict[str, Any]:
    data = factories.small_scenario()
    data["hospitals"].append(SECOND_HOSPITAL)
    return data


async def assignment_to(app: Any, hospital_id: str, *, unit_id: str = "A1",
                        **incident: Any) -> Assignment:
    """An acknowledged assignment of `unit_id` to a new incident, heading for `hospital_id`."""
    rt: Runtime = app.state.runtime
    incident_id = await factories.add_incident(
        app, **{"lat": 34.23, "lon": 108.85, "severity": "urgent", "category": "dialysis",
                "infection_status": "none", **incident})
    async with rt.sessionmaker() as session:
        sent = await fleet.dispatch_unit(session=session, rt=rt, incident_id=incident_id,
                                         unit_id=unit_id, actor=DISPATCHER)
        await session.execute(update(Assignment).where(Assignment.id == sent.id)  # as if routing
                              .values(destination_hospital_id=hospital_id))  # had chosen it
        await session.commit()
        await unit_status.acknowledge(session=session, rt=rt, assignment_id=sent.id, actor=CREW)
        row = await session.get(Assignment, sent.id)
    assert row is not None
    return row


async def move(app: Any, unit_id: str, *statuses: str) -> None:
    rt: Runtime = app.state.runtime
    for to in statuses:
        async with rt.sessionmaker() as session:
            await unit_status.change_status(session=session, rt=rt, unit_id=unit_id,
                                              to=UnitStatus(to), actor=CREW)


async def transport(app: Any, assignment: Assignment, *, arrive: bool = False) -> None:
    """The crew drives to the patient and starts transporting (and arrives)."""
    await move(app, assignment.unit_id, "en_route", "on_scene", "transporting",
               *(["at_hospital"] if arrive else []))


async def test_pre_arrival_notice_reaches_only_that_hospital(
    app: Any, server: str, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    general, _ = await open_socket(server, "/ws/hospital/general")
    east, _ = await open_socket(server, "/ws/hospital/east")
    other_crew, _ = await open_socket(server, "/ws/crew/B1")
    async with general, east, other_crew:
        assignment = await assignment_to(app, "general", infection_status="suspected")
        await transport(app, assignment)
        notice = (await events(general, 1))[0]
        assert notice["type"] == "handover.notice"
        data = notice["data"]
        assert (data["unit_id"], data["category"], data["infection_status"]) == (
            "A1", "dialysis", "suspected")
        assert data["eta_at"] is not None
        assert await no_event(east)
        assert await no_event(other_crew)
        listed = (await client.get("/api/v1/hospitals/general/incoming")).json()
        assert [h["id"] for h in listed] == [data["id"]]
        assert (await client.get("/api/v1/hospitals/east/incoming")).json() == []
        await general.send(
            f'{{"action": "handover.acknowledge", "ref": "k", "handover_id": "{data["id"]}"}}')
        acked = (await events(general, 1))[0]
        assert acked["type"] == "handover.notice_acknowledged"
        assert acked["data"]["notice_acknowledged_at"] is not None
    unknown = await client.get("/api/v1/hospitals/nowhere/incoming")
    assert unknown.status_code == 404


async def test_one_notice_per_job_and_an_arrival_without_one_sends_both(
    app: Any, server: str, client: httpx.AsyncClient
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    rt: Runtime = app.state.runtime
    general, _ = await open_socket(server, "/ws/hospital/general")
    async with general:
        first = await assignment_to(app, "general", category="trauma")
        await transport(app, first)
        assert [e["type"] for e in await events(general, 1)] == ["handover.notice"]
        async with rt.sessionmaker() as session:  # the crew's tablet sends transporting again
            unit = await session.get(Unit, "A1")
            assert unit is not None
            again = await handovers.on_transporting(session=session, rt=rt, assignment=first,
                                                    unit=unit, at=rt.clock.now())
            await session.commit()
        assert again == []
        second = await assignment_to(app, "general", unit_id="B1", infection_status="confirmed")

        async def destination(hospital_id: str | None) -> None:
            async with rt.sessionmaker() as session:
                row = await session.get(Assignment, second.id)
                assert row is not None
                row.destination_hospital_id = hospital_id
                await session.commit()

        await destination(None)  # transporting before a hospital was chosen: no notice
        await move(app, "B1", "en_route", "on_scene", "transporting")
        assert await no_event(general)
        await destination("general")
        await move(app, "B1", "at_hospital")
        news = await events(general, 2)
    assert [e["type"] for e in news] == ["handover.notice", "handover.arrived"]
    assert news[1]["data"]["infection_status"] == "confirmed"
    assert news[1]["data"]["hospital_name"]
    listed = (await client.get("/api/v1/hospitals/general/incoming")).json()
    assert sorted((h["assignment_id"], h["status"], h["category"]) for h in listed) == sorted([
        (str(first.id), "incoming", "trauma"), (str(second.id), "arrived", "dialysis")])


async def test_overdue_alert_fires_at_the_target_and_keeps_escalating(
    app: Any, server: str, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    rt: Runtime = app.state.runtime
    console, _ = await open_socket(server, "/ws/console", types="handover.overdue")
    async with console:
        assignment = await assignment_to(app, "general")
        await transport(app, assignment, arrive=True)
        clock.advance(14 * 60 + 59)
        assert await handovers.overdue_tick(rt) == []
        clock.advance(1)  # 15 minutes after arrival
        raised = await handovers.overdue_tick(rt)
        assert [level for _, level in raised] == [1]
        assert await handovers.overdue_tick(rt) == []  # once per level
        first = (await events(console, 1))[0]
        assert first["data"]["level"] == 1
        assert first["data"]["minutes"] == 15.0
        assert first["data"]["alert"]["audience"] == "supervisor"
        clock.advance(5 * 60 - 1)
        assert await handovers.overdue_tick(rt) == []
        clock.advance(1)  # 20 minutes: escalates again
        assert [level for _, level in await handovers.overdue_tick(rt)] == [2]
        second = (await events(console, 1))[0]
        assert second["data"]["alert"]["level"] == "critical"
    async with client_for(app) as http:
        metrics = (await http.get("/metrics")).text
    assert "dispatch_handovers_overdue 1.0" in metrics


async def test_handover_statistics_match_a_known_sequence(
    app: Any, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    minutes = [4, 8, 12, 16, 30]  # two over the 15-minute target
    for wait in minutes:
        assignment = await assignment_to(app, "general")
        await transport(app, assignment, arrive=True)
        clock.advance(wait * 60)
        handover = (await client.get("/api/v1/hospitals/general/incoming")).json()[0]
        done = await client.post(f"/api/v1/handovers/{handover['id']}/done", json={})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "handed_over"
        # The hospital's word moves the unit on: the crew need not report it too.
        unit = (await client.get("/api/v1/units/A1")).json()
        assert unit["status"] == "handover_done"
        assert unit["assignment_id"] is None
        await move(app, "A1", "available")
    waiting = await assignment_to(app, "general")
    await transport(app, waiting, arrive=True)
    stats = {s["hospital_id"]: s for s in (await client.get("/api/v1/handovers/stats")).json()}
    general = stats["general"]
    assert general["handed_over"] == 5
    assert general["p50_minutes"] == 12.0  # nearest rank: 3rd of 5
    assert general["p90_minutes"] == 30.0  # 5th of 5
    assert general["over_target"] == 2
    assert general["waiting_now"] == 1
    metrics = (await client.get("/metrics")).text
    assert 'dispatch_handover_seconds_count{hospital="general"} 5.0' in metrics


async def test_a_crew_marking_handover_must_give_a_reason(
    app: Any, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    rt: Runtime = app.state.runtime
    assignment = await assignment_to(app, "general")
    await transport(app, assignment, arrive=True)
    async with rt.sessionmaker() as session:
        unit = await session.get(Unit, "A1")
        assert unit is not None
        row = await session.get(Assignment, assignment.id)
        assert row is not None
        with pytest.raises(InvalidInput) as refused:
            await handovers.on_handover_done(session=session, rt=rt, assignment=row, unit=unit,
                                             at=clock.now(), actor=CREW, reason=None)
        assert refused.value.errors[0]["field"] == "body.reason"
        published = await handovers.on_handover_done(
            session=session, rt=rt, assignment=row, unit=unit, at=clock.now(), actor=CREW,
            reason="hospital staff busy with resuscitation; patient handed to triage nurse")
        await session.commit()
    assert [e.type for e in published] == ["handover.done"]
    stats = (await client.get("/api/v1/handovers/stats?hospital_id=general")).json()[0]
    assert stats["handed_over"] == 1
    bad = await client.post(f"/api/v1/handovers/{uuid.uuid4()}/done", json={})
    assert bad.status_code == 404


async def test_suspension_reroutes_new_decisions_and_flags_units_on_the_way(
    app: Any, server: str, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    heading = await assignment_to(app, "general")
    await transport(app, heading)
    console, _ = await open_socket(server, "/ws/console", types="assignment.")
    crew, _ = await open_socket(server, "/ws/crew/A1")
    async with console, crew:
        suspended = await client.post("/api/v1/hospitals/general/suspend",
                                      json={"reason": "ward closed for disinfection"})
        assert suspended.status_code == 200, suspended.text
        body = suspended.json()
        assert body["hospital"]["status"] == "suspended"
        assert body["hospital"]["status_reason"] == "ward closed for disinfection"
        [flag] = body["flagged"]
        assert flag["assignment_id"] == str(heading.id)
        assert flag["to_hospital_id"] == "east"
        assert (await events(console, 1))[0]["type"] == "assignment.reroute"
        crew_flag = (await events(crew, 1, types=("assignment.reroute",)))[0]
        assert crew_flag["data"]["to_hospital_id"] == "east"
    # Every later decision avoids the suspended hospital.
    later = await factories.add_incident(app, lat=34.16, lon=108.86, severity="urgent",
                                         category="dialysis", infection_status="none")
    decision = await client.post("/api/v1/routing/decisions", json={"incident_id": str(later)})
    assert decision.json()["destination_hospital_id"] == "east"
    east, _ = await open_socket(server, "/ws/hospital/east")
    async with east:
        accepted = await client.post(f"/api/v1/assignments/{heading.id}/reroute", json={})
        assert accepted.json()["destination_hospital_id"] == "east"
        notice = (await events(east, 1))[0]  # the patient on board: the new hospital hears now
    assert notice["type"] == "handover.notice"
    assert (notice["data"]["assignment_id"], notice["data"]["status"]) == (str(heading.id), "incoming")
    incoming = (await client.get("/api/v1/hospitals/general/incoming")).json()
    assert incoming == []  # the notice to the suspended hospital was withdrawn
    rerouted = (await client.get("/api/v1/hospitals/east/incoming")).json()
    assert [(h["assignment_id"], h["status"]) for h in rerouted] == [(str(heading.id), "incoming")]
    await move(app, "A1", "at_hospital")
    arrived = (await client.get("/api/v1/hospitals/east/incoming")).json()
    assert [(h["hospital_id"], h["status"]) for h in arrived] == [("east", "arrived")]
    done = await client.post(f"/api/v1/handovers/{arrived[0]['id']}/done", json={})
    assert done.json()["status"] == "handed_over"
    assert (await live(app.state.runtime).unit("A1"))["status"] == "handover_done"
    refused = await client.post("/api/v1/hospitals/general/suspend", json={})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.reason"


async def test_scheduled_suspension_takes_effect_at_its_time(
    app: Any, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    at = clock.now() + timedelta(hours=2)
    scheduled = await client.post("/api/v1/hospitals/east/suspend",
                                  json={"reason": "planned closure", "at": at.isoformat()})
    assert scheduled.json()["scheduled"] is True
    assert scheduled.json()["hospital"]["status"] == "open"
    rt: Runtime = app.state.runtime
    clock.advance(2 * 3600 - 1)
    assert await apply_scheduled(rt) == []
    clock.advance(1)
    assert await apply_scheduled(rt) == ["east"]
    east = (await client.get("/api/v1/hospitals/east")).json()
    assert (east["status"], east["status_reason"]) == ("suspended", "planned closure")
    reopened = await client.post("/api/v1/hospitals/east/reopen", json={})
    assert reopened.json()["hospital"]["status"] == "open"


async def test_capacity_updates_from_two_hospital_users_at_once_lose_nothing(
    make_app: Any,
) -> None:
    a, b = make_app(), make_app()
    async with running(a), running(b):
        await factories.load(a, scenario_with_two_hospitals())
        ca, cb = client_for(a, "http://a"), client_for(b, "http://b")
        async with ca, cb:
            base = "/api/v1/hospitals/general/capacity"
            assert (await ca.put(f"{base}/dialysis", json={"available": 5, "total": 30})).status_code == 200
            results = await asyncio.gather(*(
                (ca if i % 2 else cb).post(f"{base}/dialysis/adjust", json={"delta": 1})
                for i in range(20)))
            assert all(r.status_code == 200 for r in results)
            both = await asyncio.gather(ca.put(f"{base}/delivery", json={"available": 0}),
                                        cb.put(f"{base}/neonatal", json={"available": 0}))
            assert all(r.status_code == 200 for r in both)
            rows = {r["category"]: r for r in (await ca.get(base)).json()}
            assert rows["dialysis"]["available"] == 25  # 5 + 20 simultaneous +1
            assert rows["delivery"]["available"] == 0
            assert rows["neonatal"]["available"] == 0
            hospital = (await cb.get("/api/v1/hospitals/general")).json()
            assert set(hospital["full_categories"]) == {"pregnant", "newborn"}
            freed = await ca.post(f"{base}/delivery/adjust", json={"delta": 2})
            assert freed.status_code == 200
            hospital = (await cb.get("/api/v1/hospitals/general")).json()
            assert hospital["full_categories"] == ["newborn"]
            for bad, field in [({"available": -1}, "body.available"), ({"available": "x"}, "body.available"),
                               ({"available": 1, "extra": 1}, "body.extra")]:
                response = await ca.put(f"{base}/dialysis", json=bad)
                assert response.status_code == 422
                assert response.json()["errors"][0]["field"] == field
            assert (await ca.put(f"{base}/helipad", json={"available": 1})).status_code == 422
            too_many = await ca.put(f"{base}/icu", json={"available": 9, "total": 4})
            assert too_many.status_code == 422
            rows = {r["category"]: r for r in (await ca.get(base)).json()}
            assert rows["dialysis"]["available"] == 25
            assert "icu" not in rows


async def test_full_hospital_is_ranked_last_but_a_critical_patient_still_goes_to_the_nearest(
    app: Any, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await factories.load(app, scenario_with_two_hospitals())
    await client.put("/api/v1/hospitals/general/capacity/dialysis", json={"available": 0})
    non_critical = await factories.add_incident(app, lat=34.16, lon=108.86, severity="urgent",
                                                category="dialysis", infection_status="none")
    decided = await client.post("/api/v1/routing/decisions", json={"incident_id": str(non_critical)})
    assert decided.json()["destination_hospital_id"] == "east"
    critical = await factories.add_incident(app, lat=34.16, lon=108.86, severity="critical",
                                            category="dialysis", infection_status="none")
    decided = await client.post("/api/v1/routing/decisions", json={"incident_id": str(critical)})
    assert decided.json()["destination_hospital_id"] == "general"  # no refusal: nearest capable
    rows = (await client.get("/api/v1/hospitals/general/capacity")).json()
    assert rows[0]["full_for"] == ["dialysis"]
