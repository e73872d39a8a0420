"""The console's incident list in headless Chromium: an incident stays listed after its call
ends and is dispatched from there; an earlier one is found by its number, its timeline read and
it is reopened with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, Hub, Log, new_page, ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub


async def incident_whose_call_ended(hub: Hub, complaint: str) -> dict[str, Any]:
    call = await hub.ring("13500000000")
    await hub.http.post("/api/v1/positions/P03/login", json={"user": "sun.li", "ready": True})
    await hub.http.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P03"})
    created = await hub.http.post("/api/v1/incidents", json={
        "call_id": call["id"], "location": {"lat": 34.1905, "lon": 108.8795, "address": "锦业路 21 号"},
        "severity": "urgent", "category": "ordinary", "complaint": complaint})
    assert created.status_code == 201, created.text
    await hub.http.post(f"/api/v1/calls/{call['id']}/ended", json={})
    return dict(created.json())


async def test_open_incidents_are_listed_dispatched_found_and_reopened(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    console = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(console)
    incident = await incident_whose_call_ended(hub, "腹痛")
    row = console.locator(f"#incident-list li[data-incident='{incident['id']}']")
    await row.wait_for()
    assert incident["number"] in await row.inner_text()
    assert "To dispatch" in await row.inner_text()

    # From the list to the desk: the decision and the units that can go, sent with one click.
    await row.click()
    await console.wait_for_selector("#decision .decision")
    await console.wait_for_selector("#incident-detail[open]")
    await console.locator("#recommendations tr.top button[data-assign]").click()
    # A unit is on its way and no call is in hand: the desk is free again.
    await console.wait_for_selector("#decision .decision", state="detached")
    timeline = await console.inner_text("#incident-timeline")
    assert "Incident recorded" in timeline  # incident.create, in words
    assert "Answered" in timeline  # call.answer
    await console.click("#incident-detail-close")
    await console.wait_for_function(
        f"document.querySelector(\"#incident-list li[data-incident='{incident['id']}'] .st\")"
        ".textContent === 'Dispatched'")
    await shot(console, "console-incidents.png")

    # An incident cancelled earlier is found by its number and opened again, with a reason.
    other = await incident_whose_call_ended(hub, "头晕")
    cancelled = await hub.http.patch(f"/api/v1/incidents/{other['id']}", json={"status": "cancelled"})
    assert cancelled.status_code == 200
    await console.fill("#incident-search input[name=find_q]", other["number"])
    await console.click("#incident-search button[type=submit]")
    found = console.locator(f"#incident-list li[data-incident='{other['id']}']")
    await found.wait_for()
    assert await console.locator("#incident-list li[data-incident]").count() == 1
    await found.click()
    await console.wait_for_selector("#incident-reopen:not([hidden])")
    await console.fill("#incident-reopen input[name=reason]", "caller rang again")
    await console.click("#incident-reopen button[type=submit]")
    await console.wait_for_selector("#incident-detail:not([open])", state="attached")
    reopened = (await hub.http.get(f"/api/v1/incidents/{other['id']}")).json()
    assert reopened["status"] == "open"
    assert log.errors == []
