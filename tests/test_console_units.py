"""A dispatcher opens a unit from the board: a message reaches its crew's tablet, and its status
is changed for the crew with a reason that the audit log keeps."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, CREW_SIZE, Hub, Log, new_page, ready

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
