"""The supervisor's quality panel in headless Chromium, on a synthetic November of records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from dispatch.places.hours import zone_info
from loadtests import quality_month
from tests import test_browser
from tests.conftest import token_for
from tests.test_browser import CONSOLE_SIZE, Hub, Log, new_page, ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]

browser = test_browser.browser  # the session's Chromium
log = test_browser.log
hub = test_browser.hub

SHANGHAI = zone_info("Asia/Shanghai")


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


async def november(hub: Hub, incidents: int = 1500) -> dict[str, Any]:
    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        await quality_month.fill(session, start=datetime(2026, 11, 1, tzinfo=SHANGHAI),
                                 end=datetime(2026, 12, 1, tzinfo=SHANGHAI), incidents=incidents)
    reply = await hub.http.get("/api/v1/quality", params={"month": "2026-11"})
    assert reply.status_code == 200, reply.text
    figures: dict[str, Any] = reply.json()
    return figures


async def test_the_quality_panel_shows_each_indicator_its_target_and_whether_it_holds(
    browser: Any, hub: Hub, log: Log,
) -> None:
    figures = await november(hub)
    indicators = {i["key"]: i for i in figures["indicators"]}
    assert figures["incidents"] == 1500
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang="zh")
    await ready(page)
    await page.click("#quality-open")
    await page.select_option("#quality-window", "month")
    await page.fill("#quality-month", "2026-11")
    await page.dispatch_event("#quality-month", "change")
    row = page.locator("#quality-table tr[data-indicator='turnout_within_3min']")
    turnout = indicators["turnout_within_3min"]
    await row.get_by_text(percent(turnout["value"])).wait_for()
    cells = await row.locator("td").all_inner_texts()
    assert cells[0] == "3分钟出车率"
    assert cells[2] == "≥ 95.0%"
    assert cells[3] == ("✓ 达标" if turnout["holds"] else "✗ 未达标")
    assert cells[4] == str(turnout["count"])
    answered = await page.locator(
        "#quality-table tr[data-indicator='answered_within_10s'] td").all_inner_texts()
    assert answered[:2] == ["10秒接听率", percent(indicators["answered_within_10s"]["value"])]
    assert await page.locator("#quality-areas tbody tr").count() == len(figures["by_sub_district"])
    cover = (await hub.http.get("/api/v1/quality/coverage")).json()
    covered = await page.locator("#quality-cover tr").first.locator("td").all_inner_texts()
    assert covered == ["服务半径内人口", percent(cover["covered_share"])]
    await page.click("#lang")
    cells = await row.locator("td").all_inner_texts()
    assert cells[0] == "Out within 3 min"
    assert cells[3] == ("✓ holds" if turnout["holds"] else "✗ fails")
    assert (await page.inner_text("#quality-title")).strip() == "Quality indicators"
    await shot(page, "console-quality.png")
    assert log.errors == []


async def test_the_panel_is_not_offered_to_a_call_taker(browser: Any, hub: Hub, log: Log) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log,
                          token=token_for("call_taker", name="wang.fang"))
    await ready(page)
    assert await page.locator("#quality-open").is_hidden()
    assert await page.locator("#quality-panel").is_hidden()
    assert log.errors == []
