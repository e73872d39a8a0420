"""The console map a dispatcher reads at a glance: streets under everything, labels that never
cover one another, and a layout where the map and the unit board share a 1280×800 screen."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.config import Settings
from tests import test_browser
from tests.test_browser import CONSOLE_SIZE, Hub, Log, assert_fits, new_page, ready, served_hub, shot

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
hub = test_browser.hub

# Every label the map shows, as the browser draws it.
LABELS = """() => {
  const map = document.getElementById('map').getBoundingClientRect();
  return [...document.querySelectorAll('#map .map-label')]
    .filter((el) => getComputedStyle(el).display !== 'none'
      && getComputedStyle(el.parentElement).visibility !== 'hidden')
    .map((el) => {
      const r = el.getBoundingClientRect();
      return { text: el.textContent, kind: el.className.replace('map-label', '').trim(),
        left: r.left, top: r.top, right: r.right, bottom: r.bottom,
        map: { left: map.left, top: map.top, right: map.right, bottom: map.bottom } };
    });
}"""

# Elements outside the map (whose panes Leaflet clips) reaching past the right edge of the screen,
# or scrolling or cutting their content sideways (a text ending in "…" is cut on purpose).
SPILLING = """() => [...document.querySelectorAll('body *')]
  .filter((el) => !el.closest('.leaflet-container') && el.getClientRects().length > 0)
  .filter((el) => {  // what a clipping box holds is that box's to show
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') return false;
    }
    return true;
  })
  .map((el) => {
    const style = getComputedStyle(el);
    const clips = style.overflowX !== 'visible' && style.textOverflow !== 'ellipsis';
    return { el: el.tagName + (el.id ? '#' + el.id : '') + ' ' + el.textContent.slice(0, 40),
      right: el.getBoundingClientRect().right, overflow: clips ? el.scrollWidth - el.clientWidth : 0 };
  })
  .filter((box) => box.right > innerWidth + 0.5 || box.overflow > 1)"""


async def layouts(page: Any) -> int:
    return int(await page.get_attribute("#map", "data-label-layouts") or 0)


async def settled_labels(page: Any, after: int = 0, *, streets: bool = True) -> list[dict[str, Any]]:
    """The labels once the map has placed them (again, after `after` layouts)."""
    await page.wait_for_function(
        """([after, streets]) => {
          const map = document.getElementById('map');
          return Number(map.dataset.labelLayouts || 0) > after && (map.dataset.streets || !streets)
            && document.querySelector('#map .map-label.unit-label')
            && getComputedStyle(document.querySelector('.leaflet-labels-pane')).visibility !== 'hidden';
        }""", arg=[after, streets])
    await page.wait_for_timeout(300)  # a framing or a late marker lays the labels out once more
    labels: list[dict[str, Any]] = await page.evaluate(LABELS)
    return labels


def assert_apart(labels: list[dict[str, Any]]) -> None:
    """No two labels share a pixel, and each lies whole on the map."""
    for i, a in enumerate(labels):
        box = a["map"]
        assert box["left"] - 0.5 <= a["left"], a
        assert a["right"] <= box["right"] + 0.5, a
        assert box["top"] - 0.5 <= a["top"], a
        assert a["bottom"] <= box["bottom"] + 0.5, a
        for b in labels[i + 1:]:
            apart = (a["right"] <= b["left"] + 0.5 or b["right"] <= a["left"] + 0.5
                     or a["bottom"] <= b["top"] + 0.5 or b["bottom"] <= a["top"] + 0.5)
            assert apart, f"{a['text']!r} overlaps {b['text']!r}: {a} {b}"


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_no_two_labels_on_the_map_overlap_at_any_zoom(
    browser: Any, hub: Hub, log: Log, lang: str
) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang=lang)
    await ready(page)
    labels = await settled_labels(page)
    kinds = {label["kind"] for label in labels}
    assert {"unit-label", "post-label", "hospital-label"} <= kinds, labels
    assert len(labels) >= 10, labels
    assert_apart(labels)
    assert any(label["text"] == "高新01" for label in labels), labels  # call signs are Chinese

    # Zooming in lays them out afresh, still none over another.
    for _ in range(2):
        before = await layouts(page)
        await page.click(".leaflet-control-zoom-in")
        zoomed = await settled_labels(page, before)
        assert zoomed
        assert_apart(zoomed)
    # And dragging the map lays them out again.
    before = await layouts(page)
    box = await page.locator("#map").bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2 - 80, steps=5)
    await page.mouse.up()
    assert_apart(await settled_labels(page, before))
    assert log.errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_map_and_the_unit_board_share_a_1280_by_800_screen(
    browser: Any, hub: Hub, log: Log, lang: str
) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang=lang)
    await ready(page)
    await page.locator("#board tr[data-unit='GX-01']").wait_for()
    await settled_labels(page)
    layout = await assert_fits(page, "#map", "#board-panel", "#board")
    for selector in ("#map", "#board-panel"):
        box = layout["boxes"][selector]
        assert box["top"] >= 0, (selector, box)
        assert box["bottom"] <= layout["height"] + 0.5, (selector, box)
    assert layout["boxes"]["#map"]["height"] >= 240
    assert layout["boxes"]["#map"]["width"] >= 400
    spilling = await page.evaluate(SPILLING)
    assert spilling == [], "\n".join(map(str, spilling))
    # The streets lie under everything, with their source named on the map.
    assert int(await page.get_attribute("#map", "data-streets") or 0) > 500
    assert await page.locator(".leaflet-streets-pane canvas").count() >= 1
    assert "OpenStreetMap" in await page.inner_text(".leaflet-control-attribution")
    if lang == "zh":
        await shot(page, "console-map-streets.png")
    assert log.errors == []


async def test_a_configured_tile_server_takes_the_place_of_the_bundled_streets(
    browser: Any, settings: Settings, redis: Any, committed: Any, log: Log
) -> None:
    # Any image will do as a tile: the hub serves one for every z/x/y.
    tiles = settings.model_copy(update={
        "map_tiles_url": "/vendor/leaflet/images/layers.png?{z}/{x}/{y}",
        "map_tiles_attribution": "Tiles © Test Centre",
    })
    async with served_hub(tiles) as tiled:
        page = await new_page(browser, tiled, "/console/", size=CONSOLE_SIZE, log=log)
        await ready(page)
        await page.locator("#map .leaflet-tile-loaded").first.wait_for()
        assert "Tiles © Test Centre" in await page.inner_text(".leaflet-control-attribution")
        assert await page.get_attribute("#map", "data-streets") is None
        assert await page.locator(".leaflet-streets-pane").count() == 0
        assert_apart(await settled_labels(page, streets=False))
    assert log.errors == []

