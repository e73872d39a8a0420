"""A dispatcher opens a unit from the board: a message reaches its crew's tablet, and its status
is changed for the crew with a reason that the audit log keeps."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, CREW_SIZE, Hub, Log, new_page, ready
from tests.test_console_incidents import incident_whose_call_ended

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub


async def test_a_message_and_a_status_override_from_the_board(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    console = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(console)
    crew = await new_page(browser, hub, f"/crew/#token={await hub.crew_token('GX-03')}",
                          size=CREW_SIZE, log=log, token=None)
    await ready(crew)

    await console.click("#board tr[data-unit='GX-03']")
    await console.wait_for_selector("#unit-detail[open]")
    await console.fill("#unit-message input[name=text]", "请回站补充氧气瓶")
    await console.click("#unit-message button[type=submit]")
    await crew.wait_for_selector("#messages li:has-text('请回站补充氧气瓶')")

    await console.select_option("#unit-override select[name=status]", "out_of_service")
    await console.fill("#unit-override input[name=reason]", "crew reports a flat tyre by radio")
    await console.click("#unit-override button[type=submit]")
    await console.wait_for_selector("#board tr[data-unit='GX-03'] .status.out_of_service")
    await crew.wait_for_selector("#unit-status.out_of_service")
    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        entry = (await session.scalars(select(AuditEntry).where(
            AuditEntry.target_id == "GX-03", AuditEntry.action == "unit.status"))).one()
    assert entry.after == {"status": "out_of_service", "reason": "crew reports a flat tyre by radio"}
    assert entry.actor
    assert log.errors == []


async def test_a_silent_unit_and_a_lost_hub_raise_alerts_until_they_are_back(
    browser: Any, settings: Any, redis: Any, committed: Any, log: Log
) -> None:
    async with test_browser.served_hub(settings.model_copy(update={"stale_position_seconds": 2})) as hub:
        console = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
        await ready(console)
        # GX-05 on its way reports once, then nothing: stale after 2 s, an alert until it reports.
        incident = await incident_whose_call_ended(hub, "胸闷")
        incident_unit = "GX-05"
        job = (await hub.http.post("/api/v1/assignments", json={
            "incident_id": incident["id"], "unit_id": incident_unit})).json()
        await hub.http.post(f"/api/v1/assignments/{job['id']}/acknowledge")
        await hub.http.post(f"/api/v1/units/{incident_unit}/status", json={"status": "en_route"})
        reply = await hub.http.post(f"/api/v1/units/{incident_unit}/position",
                                    json={"lat": 34.2, "lon": 108.86})
        assert reply.status_code == 200
        stale = console.locator(".alert.sticky", has_text="position is stale")
        await stale.wait_for(timeout=15000)
        # The unit's first fix (from the scenario) may go stale before the one above arrives:
        # the alert then comes, goes with the new fix and comes again 2 s later.
        await expect(stale).to_contain_text("高新05", timeout=15000)
        await hub.http.post(f"/api/v1/units/{incident_unit}/position", json={"lat": 34.21, "lon": 108.86})
        await stale.wait_for(state="detached", timeout=15000)

        with log.expecting(test_browser.NETWORK_DOWN):
            await console.context.set_offline(True)
            lost = console.locator(".alert.sticky", has_text="The hub is out of reach")
            await lost.wait_for(timeout=15000)
            assert (await console.title()).startswith("(")
            await console.context.set_offline(False)
            await lost.wait_for(state="detached", timeout=15000)
        assert log.errors == []
