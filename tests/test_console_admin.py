"""An admin in the console: an account made and disabled, a crew tablet paired by the QR code's
link and its token revoked."""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_browser
from tests.conftest import token_for
from tests.test_browser import CONSOLE_SIZE, CREW_SIZE, Hub, Log, new_page, ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub


async def test_an_admin_makes_an_account_and_pairs_a_tablet(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    admin_token = token_for("admin", name="it.admin")
    console = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log,
                             token=admin_token)
    await ready(console)
    await console.click("#admin-open")
    await console.wait_for_selector("#admin[open]")

    await console.fill("#admin-user input[name=username]", "chen.jing")
    await console.fill("#admin-user input[name=password]", "a-long-password-2")
    await console.select_option("#admin-user select[name=roles]", ["dispatcher", "call_taker"])
    await console.click("#admin-user button[type=submit]")
    row = console.locator("#admin-users tr[data-user='chen.jing']")
    await row.wait_for()
    assert "Dispatcher" in await row.inner_text()

    await console.select_option("#admin-device select[name=kind]", "crew")
    await console.fill("#admin-device input[name=name]", "GX-04 tablet")
    await console.fill("#admin-device input[name=bound]", "GX-04")
    await console.click("#admin-device button[type=submit]")
    await console.wait_for_selector("#admin-pairing-qr svg")
    link = await console.inner_text("#admin-pairing-link")
    assert link.startswith(hub.url + "/crew/#token=")
    await shot(console, "console-admin.png")

    tablet = await new_page(browser, hub, link.removeprefix(hub.url), size=CREW_SIZE, log=log,
                            token=None)
    await ready(tablet)
    assert await tablet.inner_text("#unit-name") == "高新04"

    await row.locator("[data-disable]").click()
    await console.wait_for_selector("#admin-users tr[data-user='chen.jing']:has-text('Disabled')")
    device = console.locator("#admin-devices tr", has_text="GX-04 tablet")
    with log.expecting(test_browser.UNAUTHORIZED):
        await device.locator("[data-revoke]").click()
        await console.wait_for_selector("#admin-devices tr:has-text('GX-04 tablet'):has-text('Revoked')")
    users = (await hub.http.get("/api/v1/users")).json()
    assert [u["active"] for u in users if u["username"] == "chen.jing"] == [False]
    assert log.errors == []
