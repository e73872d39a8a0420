"""The hospital terminal in headless Chromium: a stroke patient's pre-arrival notice with the
onset time, acknowledged; the handover clock at the door; the patient taken over, which moves
the crew on; capacity reported; a hospital account signs in too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.audit.schemas import Actor
from dispatch.auth import service as auth_service
from dispatch.auth.schemas import Role
from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, Hub, Log, new_page, ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub


async def stroke_on_its_way(hub: Hub) -> tuple[dict[str, Any], str]:
    """A critical stroke (onset 50 min ago) answered, decided and dispatched; the job and the
    destination hospital."""
    call = await hub.ring("13700000000")
    await hub.http.post("/api/v1/positions/P02/login", json={"user": "zhao.lei", "ready": True})
    answered = await hub.http.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P02"})
    assert answered.status_code == 200, answered.text
    onset = (datetime.now(UTC) - timedelta(minutes=50)).isoformat()
    incident = await hub.http.post("/api/v1/incidents", json={
        "call_id": call["id"], "location": {"lat": 34.1905, "lon": 108.8795, "address": "锦业路 8 号"},
        "severity": "critical", "category": "ordinary", "complaint": "右侧肢体无力",
        "triage": {"protocol": "stroke", "age_years": 68, "sex": "male", "last_known_well": onset,
                   "danger_signs": ["face_arm_speech"]}})
    assert incident.status_code == 201, incident.text
    best = (await hub.http.get(f"/api/v1/incidents/{incident.json()['id']}/recommendations")).json()
    job = (await hub.http.post("/api/v1/assignments", json={
        "incident_id": incident.json()["id"], "unit_id": best["candidates"][0]["unit_id"]})).json()
    return job, job["destination_hospital_id"]


async def test_the_hospital_terminal_takes_a_stroke_patient_over(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    job, hospital_id = await stroke_on_its_way(hub)
    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        _, token = await auth_service.create_device(
            session=session, rt=rt, kind="hospital", name="ED terminal", now=rt.clock.now(),
            actor=Actor(name="browser-test"), hospital_id=hospital_id)
    screen = await new_page(browser, hub, f"/hospital/#token={token}", size=CONSOLE_SIZE,
                            log=log, token=None)
    await ready(screen)
    assert await screen.inner_text("#incoming") == "No patients on their way"
    unit = job["unit_id"]
    await hub.http.post(f"/api/v1/assignments/{job['id']}/acknowledge")
    for to in ("en_route", "on_scene", "transporting"):
        reply = await hub.http.post(f"/api/v1/units/{unit}/status", json={"status": to})
        assert reply.status_code == 200, reply.text

    notice = screen.locator("#incoming li[data-handover]")
    await notice.wait_for()
    text = await notice.inner_text()
    assert "Critical" in text
    assert "Stroke" in text
    assert "Last known well" in text
    assert "50 min ago" in text or "49 min ago" in text
    assert "Face, arm or speech affected" in text
    assert "68 years" in text
    await shot(screen, "hospital-notice.png")
    await notice.locator("[data-ack]").click()
    await screen.wait_for_selector("#incoming li:has-text('Notice acknowledged')")

    reply = await hub.http.post(f"/api/v1/units/{unit}/status", json={"status": "at_hospital"})
    assert reply.status_code == 200
    await screen.wait_for_selector("#incoming li.arrived .clock")
    assert (await screen.inner_text("#incoming li.arrived .clock")).startswith("0:")
    await screen.click("#incoming [data-done]")
    await screen.wait_for_selector("#incoming li.muted")
    unit_now = (await hub.http.get(f"/api/v1/units/{unit}")).json()
    assert unit_now["status"] == "handover_done"  # the hospital's word moves the crew on

    # Capacity: one more ICU bed free, reported from the screen (the hospital's own right).
    icu = screen.locator("#capacity tr[data-category=icu]")
    shown = await icu.locator("td.n").inner_text()
    before = 0 if shown == "—" else int(shown)
    await icu.locator("[data-delta='1']").click()
    await screen.wait_for_function(
        f"document.querySelector('#capacity tr[data-category=icu] td.n').textContent == '{before + 1}'")
    reported = (await hub.http.get(f"/api/v1/hospitals/{hospital_id}/capacity")).json()
    assert [c["available"] for c in reported if c["category"] == "icu"] == [before + 1]
    assert log.errors == []


async def test_a_hospital_account_signs_in_to_its_own_terminal(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        await auth_service.create_user(session=session, rt=rt, username="ed.nurse",
                                       password="a-long-password-1", roles=[Role.HOSPITAL],
                                       now=rt.clock.now(), actor=Actor(name="browser-test"),
                                       hospital_id="xian-medical-university-first")
    screen = await new_page(browser, hub, "/hospital/", size=CONSOLE_SIZE, log=log, token=None)
    await screen.wait_for_selector("#signin:not([hidden])")
    await screen.fill("input[name=username]", "ed.nurse")
    await screen.fill("input[name=password]", "a-long-password-1")
    await screen.click("#signin-form button[type=submit]")
    await ready(screen)
    assert await screen.inner_text("#hospital-name")
    assert await screen.inner_text("#hospital-status") == "Open"
    assert log.errors == []
