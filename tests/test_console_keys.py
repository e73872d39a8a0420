"""The console's main flow from the keyboard: answer, save and decide, dispatch the first
recommendation, end the call, and the help on "?"."""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, ZHANGBA_POINT, Hub, Log, log_in_position, new_page, ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub


async def test_a_call_from_ring_to_dispatch_without_the_mouse(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(page)
    await log_in_position(page)
    call = await hub.ring("13600000001")
    await page.locator(f"#ringing li[data-call='{call['id']}']").wait_for()

    await page.keyboard.press("F2")  # answer
    await page.wait_for_selector("#incident-form:not([hidden])")
    assert await page.evaluate("document.activeElement.name") == "address"
    await page.keyboard.type("锦业路 3 号")
    await page.fill("input[name=lat]", str(ZHANGBA_POINT[0]))
    await page.fill("input[name=lon]", str(ZHANGBA_POINT[1]))
    await page.focus("select[name=severity]")
    await page.keyboard.press("ArrowDown")  # the first severity
    await page.keyboard.press("Control+Enter")  # save and decide
    await page.wait_for_selector("#decision .decision")
    await page.wait_for_selector("#recommendations tr.top button[data-assign]")
    unit = await page.get_attribute("#recommendations tr.top", "data-unit")
    await page.keyboard.press("F6")  # dispatch the first recommendation
    await page.wait_for_selector(f"#board tr[data-unit='{unit}'] .status.assigned")
    await page.keyboard.press("F8")  # end the call
    await page.wait_for_selector("#incident-form", state="hidden")
    assert (await hub.http.get(f"/api/v1/calls/{call['id']}")).json()["status"] == "ended"

    await page.keyboard.press("?")
    await page.wait_for_selector("#key-help[open]")
    assert "F6" in await page.inner_text("#key-list")
    assert "Dispatch the first recommended unit" in await page.inner_text("#key-list")
    await shot(page, "console-keys.png")
    await page.keyboard.press("Escape")
    await page.wait_for_selector("#key-help:not([open])", state="attached")
    assert log.errors == []
