"""The API documentation at /docs opens with no internet: its scripts come from the hub."""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, Hub, Log, new_page

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
hub = test_browser.hub


async def test_the_api_docs_render_without_leaving_the_hub(browser: Any, hub: Hub, log: Log) -> None:
    outside: list[str] = []
    page = await new_page(browser, hub, "/healthz", size=CONSOLE_SIZE, log=log)

    async def only_the_hub(route: Any) -> None:
        if route.request.url.startswith(hub.url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_the_hub)
    await page.goto(hub.url + "/docs")
    await page.wait_for_selector(".swagger-ui .info .title", timeout=10000)
    assert "120 dispatch hub" in await page.inner_text(".swagger-ui .info .title")
    assert await page.locator(".opblock").count() > 50
    assert outside == []
    assert log.errors == []
