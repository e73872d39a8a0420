"""Both languages everywhere, in headless Chromium: the console, the crew tablet and the hospital
terminal walked in English and in Chinese, with no visible text a raw code (a snake_case
identifier, a label key) and, in Chinese, the routing reasons, rules and capabilities in Chinese;
the console's header and the hospital terminal fit 1280x800 in both languages, nothing clipped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.audit.schemas import Actor
from dispatch.auth import service as auth_service
from dispatch.calls import timers
from dispatch.quality import coverage
from tests import test_browser
from tests.test_browser import (
    CONSOLE_SIZE,
    CREW_SIZE,
    SEALED_POINT,
    Hub,
    Log,
    log_in_position,
    new_page,
    ready,
    shot,
)

pytestmark = [pytest.mark.browser, pytest.mark.committed]
browser = test_browser.browser
log = test_browser.log
fleet_hub = test_browser.fleet_hub

# Every visible text node (and the chosen option of each visible select) that shows a raw code:
# a snake_case identifier, or a label key of static/common/i18n.js shown instead of its label.
RAW_CODES = """async () => {
  const { known, t } = await import("/common/i18n.js");
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.display === "none" || style.visibility === "hidden") return false;
    }
    return el.getClientRects().length > 0;
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    // The language button names the other language on purpose; the map data's licence notice
    // is given as its licence asks.
    const exempt = "#lang, .lang-switch, .leaflet-control-attribution";
    if (text && el && el.tagName !== "OPTION" && !el.closest(exempt) && shown(el)) {
      texts.push(text);
    }
  }
  for (const select of document.querySelectorAll("select")) {
    if (shown(select) && select.selectedOptions.length) {
      texts.push(select.selectedOptions[0].textContent.trim());
    }
  }
  // A label key stands alone between separators (in Chinese, any English word that is one).
  const separators = document.documentElement.lang === "en" ? /[·:;—→|]+/ : /[\\s·:;,()—→/|]+/;
  const bad = [];
  for (const text of texts) {
    if (/(^|[^A-Za-z0-9_-])[a-z][a-z0-9]*(_[a-z0-9]+)+($|[^A-Za-z0-9_-])/.test(text)) {
      bad.push(text);
      continue;
    }
    // In Chinese no English word is left (names of people and ids with . - : aside; km, PDF).
    const word = (w) => w.length >= 3 && /^[A-Za-z]*[a-z][A-Za-z]*$/.test(w) && w !== "km";
    if (document.documentElement.lang !== "en"
        && text.split(/\\s+/).some((w) => word(w.replace(/[(),，。：、]/g, "")))) {
      bad.push(text);
      continue;
    }
    for (const piece of text.split(separators).map((p) => p.trim())) {
      if (piece && known(piece) && t(piece) !== piece) { bad.push(text); break; }
    }
  }
  return bad;
}"""
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


async def no_raw_code(page: Any, where: str) -> None:
    bad = await page.evaluate(RAW_CODES)
    assert bad == [], f"{where}: raw codes shown: {bad}"


async def switch_to(page: Any, lang: str) -> None:
    """Click the language button until the page speaks `lang`."""
    want = "zh-CN" if lang == "zh" else "en"
    if await page.get_attribute("html", "lang") != want:
        await page.click("#lang")
    assert await page.get_attribute("html", "lang") == want


def chinese(text: str, what: str) -> None:
    """Chinese words, no English ones (numbers, km and seed clauses may stay)."""
    assert CJK.search(text), f"{what} is not in Chinese: {text!r}"
    words = [w for w in LATIN_WORD.findall(text) if w not in ("km",)]
    assert words == [], f"{what} has English words {words}: {text!r}"


def english(text: str, what: str) -> None:
    assert not CJK.search(text.replace("高新", "")), f"{what} is not in English: {text!r}"


async def test_the_console_speaks_each_language_in_every_view(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    rt = hub.app.state.runtime
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang="en")
    await ready(page)
    await log_in_position(page)
    # Alerts: a call ringing past the escalation threshold, one past the answer target.
    now = datetime.now(UTC)
    await hub.ring("13800000011", rung_at=(now - timedelta(seconds=7)).isoformat())
    await hub.ring("13800000012", rung_at=(now - timedelta(seconds=11)).isoformat())
    await timers.tick(rt)
    await page.wait_for_selector("#alerts .alert.critical")
    await page.wait_for_selector("#alerts .alert.warning")
    # A sub-district out of the service radius (as the quality timer would say it).
    async with rt.sessionmaker() as session:
        area = (await coverage.coverage(session=session, rt=rt)).areas[0]
    await rt.bus.emit("coverage.warning", {**area.model_dump(), "covered_share": 0.4,
                                           "out_of_cover": True, "message": "out of cover"})
    alerts = page.locator("#alerts")
    await page.wait_for_selector(f"#alerts .alert:has-text('{area.name_en}')")
    assert await page.locator("#test-call").is_visible()
    await page.click("#test-call")
    await page.wait_for_selector("#ringing .pill.test-call")
    await no_raw_code(page, "ringing calls and alerts (en)")

    # A call answered, its incident recorded: the decision, its reasons and rules.
    call = await hub.ring("13900000000")
    await page.locator(f"#ringing li[data-call='{call['id']}'] button.answer").click()
    await page.wait_for_selector("#incident-form:not([hidden])")
    await page.fill("input[name=lat]", str(SEALED_POINT[0]))
    await page.fill("input[name=lon]", str(SEALED_POINT[1]))
    await page.fill("input[name=address]", "鱼化寨街道 3 号楼 2 单元")
    await page.select_option("select[name=severity]", "critical")
    await page.select_option("select[name=category]", "pregnant")
    await page.select_option("select[name=infection_status]", "suspected")
    await page.check("input[name=flag_fever]")
    await page.click("#incident-form button[type=submit]")
    await page.wait_for_selector("#decision .decision .why")
    await page.wait_for_selector("#recommendations tr.top")
    decision = page.locator("#decision")
    english(await decision.locator(".why").inner_text(), "the reason")
    english(await decision.locator(".caps").inner_text(), "the capabilities")
    assert "Negative pressure" in await decision.locator(".caps").inner_text()
    assert "Yuhuazhai compound (demo)" in await decision.locator(".zone").inner_text()
    assert "Zone: Sealed area (Yuhuazhai compound (demo))" in await decision.locator("ol").inner_text()
    await no_raw_code(page, "the decision (en)")

    for lang in ("zh", "en"):
        await switch_to(page, lang)
        await no_raw_code(page, f"the desk ({lang})")
        said = await alerts.inner_text()  # alerts are said again in the new language
        assert ("超时升级: 13800000011" if lang == "zh" else "Escalated: 13800000011") in said
        assert (area.name if lang == "zh" else area.name_en) in said
        assert ("可用救护车" if lang == "zh" else "of an available ambulance") in said
        positions = await page.locator("#position-select option").all_text_contents()
        assert ("P01 · 受理席1" if lang == "zh" else "P01 · Call-taker 1") in positions, positions
        if lang == "zh":
            chinese(await decision.locator(".why").inner_text(), "the reason")
            chinese(await decision.locator(".caps").inner_text(), "the capabilities")
            chinese(await decision.locator(".zone").inner_text(), "the zone")
            chinese(await decision.locator(".notes").inner_text(), "the crew notes")
            for rule in await decision.locator("ol li").all():
                chinese(await rule.locator("b").inner_text(), "a rule")
                why = rule.locator(".rule-why")
                if await why.count():
                    chinese(await why.inner_text(), "why a rule matched")

    await shot(page, "console-en-1280.png")  # English at 1280x800: a decision and its reasons

    # The incident list, its timeline, and a unit's dialog, in each language.
    await page.click("#hang-up")
    await page.wait_for_selector("#incident-list li[data-incident]")
    await page.locator("#incident-list li[data-incident]").first.click()
    await page.wait_for_selector("#incident-detail[open] #incident-timeline li")
    for lang in ("zh", "en"):
        await switch_to(page, lang)  # the open timeline follows the language
        await no_raw_code(page, f"the incident list and timeline ({lang})")
        steps = await page.inner_text("#incident-timeline")
        assert ("来电" if lang == "zh" else "Call rang") in steps
    await page.click("#incident-detail-close")
    for lang in ("zh", "en"):
        await switch_to(page, lang)
        await page.click("#board tr[data-unit='GX-02']")
        await page.wait_for_selector("#unit-detail[open]")
        await no_raw_code(page, f"the unit dialog ({lang})")
        await page.click("#unit-detail-close")
    assert log.errors == []


async def test_the_crew_tablet_and_the_hospital_terminal_speak_each_language(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    call = await hub.ring("13700000000")
    await hub.http.post("/api/v1/positions/P02/login", json={"user": "zhao.lei", "ready": True})
    await hub.http.post(f"/api/v1/calls/{call['id']}/answer", json={"position_id": "P02"})
    onset = (datetime.now(UTC) - timedelta(minutes=40)).isoformat()
    incident = (await hub.http.post("/api/v1/incidents", json={
        "call_id": call["id"], "location": {"lat": 34.1905, "lon": 108.8795, "address": "锦业路 8 号"},
        "severity": "critical", "category": "ordinary", "complaint": "胸痛",
        "triage": {"protocol": "chest_pain", "age_years": 61, "sex": "female", "last_known_well": onset,
                   "danger_signs": ["chest_pain_sweating"]}})).json()
    best = (await hub.http.get(f"/api/v1/incidents/{incident['id']}/recommendations")).json()
    job = (await hub.http.post("/api/v1/assignments", json={
        "incident_id": incident["id"], "unit_id": best["candidates"][0]["unit_id"]})).json()
    unit, hospital_id = job["unit_id"], job["destination_hospital_id"]

    crew = await new_page(browser, hub, f"/crew/#token={await hub.crew_token(unit)}",
                          size=CREW_SIZE, log=log, token=None, lang="en")
    await ready(crew)
    await crew.wait_for_selector("#job .job .dest")
    for lang in ("zh", "en"):
        await switch_to(crew, lang)
        await no_raw_code(crew, f"the crew tablet's job ({lang})")
        notes = " ".join(await crew.locator("#job .note").all_inner_texts())
        (chinese if lang == "zh" else english)(notes, "the crew notes")

    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        _, token = await auth_service.create_device(
            session=session, rt=rt, kind="hospital", name="ED terminal", now=rt.clock.now(),
            actor=Actor(name="browser-test"), hospital_id=hospital_id)
    await hub.http.post(f"/api/v1/assignments/{job['id']}/acknowledge")
    for to in ("en_route", "on_scene", "transporting"):
        assert (await hub.http.post(f"/api/v1/units/{unit}/status", json={"status": to})).status_code == 200
    screen = await new_page(browser, hub, f"/hospital/#token={token}", size=CONSOLE_SIZE,
                            log=log, token=None, lang="zh")
    await ready(screen)
    await screen.wait_for_selector("#incoming li[data-handover]")
    await screen.wait_for_selector("#connection.online")
    for lang in ("en", "zh"):
        await switch_to(screen, lang)
        await no_raw_code(screen, f"the hospital terminal ({lang})")
        name = await screen.inner_text("#hospital-name")
        (chinese if lang == "zh" else english)(name, "the hospital's name")
        assert await screen.inner_text("#connection") == ("在线" if lang == "zh" else "Online")
    assert log.errors == []


# --- fitting 1280x800 -------------------------------------------------------------------

# Each element of the bar (and the bar) whose content is wider than its box, and each button
# of the bar not wholly inside the viewport.
CLIPPED = """(selector) => {
  const bar = document.querySelector(selector);
  const clipped = [];
  for (const el of [bar, ...bar.querySelectorAll("*")]) {
    if (!el.getClientRects().length || el.scrollWidth <= el.clientWidth + 1) continue;
    // Content cut off: by a box that hides its overflow, or text spilling out of its element.
    const hides = getComputedStyle(el).overflowX !== "visible";
    const text = el.children.length === 0 && !["SELECT", "INPUT"].includes(el.tagName);
    if (hides || text || el === bar) {
      clipped.push(`${el.tagName}#${el.id}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const outside = [];
  for (const el of bar.querySelectorAll("button, select, input")) {
    if (!el.getClientRects().length) continue;
    const r = el.getBoundingClientRect();
    if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
      outside.push(`${el.id || el.textContent.trim()}: ${JSON.stringify(r)}`);
    }
  }
  return { clipped, outside, page: document.documentElement.scrollWidth - innerWidth,
           height: bar.getBoundingClientRect().height };
}"""


async def assert_bar_fits(page: Any, selector: str, where: str) -> float:
    fit = await page.evaluate(CLIPPED, selector)
    assert fit["clipped"] == [], f"{where}: clipped {fit['clipped']}"
    assert fit["outside"] == [], f"{where}: outside the viewport {fit['outside']}"
    assert fit["page"] <= 0, f"{where}: the page scrolls sideways by {fit['page']} px"
    return float(fit["height"])


async def test_the_console_header_and_the_hospital_terminal_fit_1280_by_800(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang="en")
    await ready(page)
    await page.wait_for_selector("#slo-strip span")
    buttons = ["#sign-out", "#quality-open", "#test-call", "#admin-open", "#key-help-open", "#lang"]
    for lang in ("en", "zh"):
        await switch_to(page, lang)
        for button in buttons:  # every header button of a supervisor and admin is shown
            assert await page.locator(button).is_visible(), (lang, button)
        await assert_bar_fits(page, ".bar", f"console header before login ({lang})")
        assert await page.locator("#slo-strip b").count() == 4
    await log_in_position(page)  # the position's state, user and logout join the header
    await page.wait_for_selector("#me:not([hidden])")
    for lang in ("en", "zh"):
        await switch_to(page, lang)
        height = await assert_bar_fits(page, ".bar", f"console header at a position ({lang})")
        print(f"\nconsole header at a position ({lang}): {height:.0f} px")
        assert height <= 80, f"the header takes {height} px of 800"
    # The quality panel opens under the header, whatever its height.
    await page.click("#quality-open")
    panel = await page.locator("#quality-panel").bounding_box()
    bar = await page.locator(".bar").bounding_box()
    assert panel["y"] >= bar["y"] + bar["height"] - 0.5
    await page.wait_for_selector("#quality-table tr[data-indicator]")
    await page.wait_for_selector("#quality-cover")
    for lang in ("en", "zh"):  # the indicators and the sub-districts by name
        await switch_to(page, lang)
        await no_raw_code(page, f"the quality panel ({lang})")
    await page.click("#quality-close")

    job_call = await hub.ring("13700000001")
    await hub.http.post("/api/v1/positions/P02/login", json={"user": "zhao.lei", "ready": True})
    await hub.http.post(f"/api/v1/calls/{job_call['id']}/answer", json={"position_id": "P02"})
    incident = (await hub.http.post("/api/v1/incidents", json={
        "call_id": job_call["id"], "location": {"lat": 34.1905, "lon": 108.8795, "address": "锦业路 8 号"},
        "severity": "critical", "category": "pregnant", "infection_status": "suspected",
        "complaint": "腹痛"})).json()
    best = (await hub.http.get(f"/api/v1/incidents/{incident['id']}/recommendations")).json()
    job = (await hub.http.post("/api/v1/assignments", json={
        "incident_id": incident["id"], "unit_id": best["candidates"][0]["unit_id"]})).json()
    await hub.http.post(f"/api/v1/assignments/{job['id']}/acknowledge")
    for to in ("en_route", "on_scene", "transporting"):
        await hub.http.post(f"/api/v1/units/{job['unit_id']}/status", json={"status": to})
    rt = hub.app.state.runtime
    async with rt.sessionmaker() as session:
        _, token = await auth_service.create_device(
            session=session, rt=rt, kind="hospital", name="ED terminal", now=rt.clock.now(),
            actor=Actor(name="browser-test"), hospital_id=job["destination_hospital_id"])
    screen = await new_page(browser, hub, f"/hospital/#token={token}", size=CONSOLE_SIZE,
                            log=log, token=None, lang="en")
    await ready(screen)
    await screen.wait_for_selector("#incoming li[data-handover]")
    await screen.wait_for_selector("#connection.online")
    for lang in ("en", "zh"):
        await switch_to(screen, lang)
        await assert_bar_fits(screen, ".bar", f"hospital header ({lang})")
        await assert_bar_fits(screen, "main.hospital", f"hospital terminal ({lang})")
        if lang == "en":
            await shot(screen, "hospital-en-1280.png")
    assert log.errors == []
