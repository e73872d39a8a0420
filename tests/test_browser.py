"""The console and the crew tablet in headless Chromium (Debian's package, driven by Playwright).

Each test serves a fresh hub over real HTTP and WebSockets on the real PostgreSQL and Redis,
loaded with the built-in Xi'an scenario, and drives the pages as people would. Playwright's
async API runs on the tests' own event loop, beside the served hub. Every page must finish with
nothing in its browser log. Screenshots land in docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from dispatch.audit.schemas import Actor
from dispatch.auth import service as auth_service
from dispatch.auth.schemas import Role
from dispatch.config import Settings
from dispatch.main import create_app
from tests import factories
from tests.conftest import AUTH, IN_CI, TEST_TOKEN, running, serve

pytestmark = [pytest.mark.browser, pytest.mark.committed]

CHROMIUM = os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CONSOLE_SIZE = {"width": 1280, "height": 800}
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the browser contexts' time zone
CREW_SIZE = {"width": 800, "height": 1280}
ADMIN = Actor(name="browser-test")
# A point inside the demo sealed compound at Yuhuazhai, and one next to the Zhangba post.
SEALED_POINT = (34.2330, 108.8560)
ZHANGBA_POINT = (34.1905, 108.8795)
PRECAUTION_POINT = (34.205, 108.880)  # a precaution zone in Zhangba: fever goes to a clinic
# Network errors Chromium logs by itself while a test has deliberately cut the network.
NETWORK_DOWN = re.compile(r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed|"
                          r"Failed to load resource: net::")
UNAUTHORIZED = re.compile(r"status of 401")


def missing(what: str) -> None:
    """No browser: a failure in CI, a skip (saying what to install) elsewhere."""
    message = f"{what} — install it (as root `make test` does: apt-get install chromium fonts-noto-cjk)"
    if IN_CI:
        pytest.fail(message + "; CI must run the browser tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the whole run (each test gets fresh contexts)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"Chromium is not installed at {CHROMIUM}")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@dataclass
class Hub:
    """A hub served over real sockets, with an HTTP client signed in with every role."""

    app: Any
    address: str
    http: httpx.AsyncClient
    rung: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    async def ring(self, number: str | None = "13800000000", **extra: Any) -> dict[str, Any]:
        """Report a ringing call as telephony does; return the hub's answer."""
        self.rung += 1
        body = {"telephony_call_id": f"cti-{uuid.uuid4().hex[:12]}", "caller_number": number,
                "line": f"L{self.rung}", "rung_at": datetime.now(UTC).isoformat(), **extra}
        response = await self.http.post("/api/v1/calls", json=body)
        assert response.status_code == 201, response.text
        call: dict[str, Any] = response.json()
        return call

    async def crew_token(self, unit_id: str) -> str:
        rt = self.app.state.runtime
        async with rt.sessionmaker() as session:
            _, token = await auth_service.create_device(
                session=session, rt=rt, kind="crew", name=f"tablet {unit_id}",
                now=rt.clock.now(), actor=ADMIN, unit_id=unit_id)
        return token

    async def person(self, username: str, password: str, *roles: Role) -> None:
        rt = self.app.state.runtime
        async with rt.sessionmaker() as session:
            await auth_service.create_user(session=session, rt=rt, username=username,
                                           password=password, roles=list(roles),
                                           now=rt.clock.now(), actor=ADMIN)

    def drop_sockets(self, channel: str) -> int:
        """Close every socket of a channel from the hub's side, as a failing network would."""
        subs = [s for s in self.app.state.runtime.hub.subscriptions() if s.channel == channel]
        for sub in subs:
            sub.end("restart: dropped by the browser test")
        return len(subs)

    async def has_fleet(self, unit_id: str) -> bool:
        """Whether this hub has the fleet API (crew jobs, assignments, unit status)."""
        return (await self.http.get(f"/api/v1/units/{unit_id}/job")).status_code != 404


@asynccontextmanager
async def served_hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the built-in Xi'an scenario, served over real sockets."""
    # Heartbeats every second: a console notices a silent network within about three.
    app = create_app(settings.model_copy(update={"ws_heartbeat_seconds": 1}))
    async with running(app):
        await factories.load_builtin(app)
        async with serve(app) as address, httpx.AsyncClient(
            base_url=f"http://{address}", headers=AUTH, timeout=10
        ) as http:
            yield Hub(app=app, address=address, http=http)


@pytest.fixture
async def hub(settings: Settings, redis: Any, committed: Any) -> AsyncIterator[Hub]:
    async with served_hub(settings) as served:
        yield served


@dataclass
class Log:
    """Errors a page wrote to its console or threw; a test may expect some for a moment."""

    errors: list[str] = field(default_factory=list)
    expected: re.Pattern[str] | None = None
    contexts: list[Any] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.console(m.type, m.text))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def console(self, kind: str, text: str) -> None:
        if kind != "error":
            return
        if self.expected is not None and self.expected.search(text):
            return
        self.errors.append(f"console.error: {text}")

    @contextmanager
    def expecting(self, pattern: re.Pattern[str]) -> Iterator[None]:
        """Chromium logs failed requests itself: while the test causes them on purpose."""
        self.expected = pattern
        try:
            yield
        finally:
            self.expected = None


@pytest.fixture
async def log() -> AsyncIterator[Log]:
    """What the test's pages logged; their browser contexts are closed afterwards."""
    pages = Log()
    yield pages
    for context in pages.contexts:
        await context.close()


async def new_page(browser: Any, hub: Hub, path: str, *, size: dict[str, int], log: Log,
                   lang: str = "en", token: str | None = TEST_TOKEN) -> Any:
    """A page in a fresh browser context, language chosen, signed in (or not)."""
    context = await browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")
    log.contexts.append(context)
    script = f"if (!localStorage.getItem('dispatch.lang')) localStorage.setItem('dispatch.lang', '{lang}');"
    if token:
        script += f"sessionStorage.setItem('dispatch.token', '{token}');"
    await context.add_init_script(script)
    page = await context.new_page()
    page.set_default_timeout(5000)
    log.attach(page)
    await page.goto(hub.url + path)
    return page


async def ready(page: Any) -> None:
    await page.wait_for_selector("body[data-ready=true]", state="attached")


async def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    await page.screenshot(path=str(path))
    return path


LAYOUT = """(selectors) => {
  const root = document.documentElement;
  const boxes = {};
  for (const selector of selectors) {
    const el = document.querySelector(selector);
    if (!el) { boxes[selector] = null; continue; }
    const r = el.getBoundingClientRect();
    boxes[selector] = { left: r.left, right: r.right, top: r.top, bottom: r.bottom,
      width: r.width, height: r.height,
      // Content spilling out sideways (a clipped map or a scrolling list is fine).
      overflow: getComputedStyle(el).overflowX === "visible" ? el.scrollWidth - el.clientWidth : 0 };
  }
  return { width: innerWidth, height: innerHeight, scrollWidth: root.scrollWidth, boxes };
}"""


async def assert_fits(page: Any, *selectors: str) -> dict[str, Any]:
    """Nothing scrolls sideways, and each element shows on the first screen, whole in width."""
    layout: dict[str, Any] = await page.evaluate(LAYOUT, list(selectors))
    assert layout["scrollWidth"] <= layout["width"], layout
    for selector, box in layout["boxes"].items():
        assert box is not None, f"{selector} is missing"
        assert min(box["width"], box["height"]) > 0, (selector, box)
        assert box["left"] >= 0, (selector, box)
        assert box["right"] <= layout["width"] + 0.5, (selector, box)
        assert box["top"] < layout["height"], (selector, box)
        assert box["overflow"] <= 1, f"{selector} overflows sideways: {box}"
    return layout


async def wait_for_ring_times(page: Any) -> None:
    """Record, in the page, when each ringing call's row first appears."""
    await page.evaluate("""() => {
      window.seenAt = {};
      const note = () => {
        for (const li of document.querySelectorAll('#ringing li[data-call]')) {
          if (!(li.dataset.call in window.seenAt)) window.seenAt[li.dataset.call] = Date.now();
        }
      };
      new MutationObserver(note).observe(document.getElementById('ringing'),
                                         { childList: true, subtree: true });
    }""")


async def log_in_position(page: Any, position: str = "P01", user: str | None = "li.na") -> None:
    await page.select_option("#position-select", position)
    if user is not None:
        await page.fill("#user-input", user)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#me:not([hidden])")
    assert await page.inner_text("#me-position") == position


async def test_a_call_posted_to_the_api_rings_on_the_console_within_a_second(
    browser: Any, hub: Hub, log: Log
) -> None:
    await hub.person("li.na", "correct horse battery", Role.CALL_TAKER, Role.DISPATCHER)
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, token=None)
    # Signing in through the overlay (wrong password first).
    await page.wait_for_selector("#signin:not([hidden])")
    await page.fill("#signin-form input[name=username]", "li.na")
    await page.fill("#signin-form input[name=password]", "wrong password!")
    with log.expecting(UNAUTHORIZED):
        await page.click("#signin-form button[type=submit]")
        await page.wait_for_selector("#signin-error:text('Wrong username or password')")
    await page.fill("#signin-form input[name=password]", "correct horse battery")
    await page.click("#signin-form button[type=submit]")
    await ready(page)
    assert await page.is_hidden("#signin")
    await page.wait_for_selector("#connection.online")
    assert await page.input_value("#user-input") == "li.na"  # the signed-in name, prefilled
    await log_in_position(page, user=None)
    await wait_for_ring_times(page)

    delays = []
    for number in ("13800000001", "13800000002", None):
        posted_at = time.time()
        call = await hub.ring(number)
        seen_ms = await page.evaluate(
            "async (id) => { while (!(id in window.seenAt)) await new Promise(r => setTimeout(r, 5));"
            " return window.seenAt[id]; }", call["id"])
        delays.append(seen_ms / 1000 - posted_at)
    print(f"\nring to console row: {', '.join(f'{d * 1000:.0f} ms' for d in delays)}")
    assert max(delays) < 1.0, delays

    rows = page.locator("#ringing li[data-call]")
    assert await rows.count() == 3
    first = rows.nth(0)
    assert "Line L1" in await first.inner_text()
    assert "13800000001" in await first.inner_text()
    assert "Number withheld" in await rows.nth(2).inner_text()
    assert await first.locator("button.answer").is_enabled()
    # The ring timers run, on the hub's clock.
    before = float((await first.locator(".timer").inner_text()).rstrip("s"))
    await page.wait_for_timeout(450)
    assert float((await first.locator(".timer").inner_text()).rstrip("s")) > before
    await assert_fits(page, ".bar", "#lang", "#sign-out", "#ringing-panel", "#incident-panel",
                      "#decision-panel", "#map", "#board-panel")
    await shot(page, "console.png")
    assert log.errors == []


async def test_answering_a_call_and_recording_the_incident_shows_where_the_patient_goes_and_why(
    browser: Any, hub: Hub, log: Log
) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(page)
    await log_in_position(page)
    call = await hub.ring("13900000000")
    row = page.locator(f"#ringing li[data-call='{call['id']}']")
    await row.locator("button.answer").click()
    await page.wait_for_selector("#incident-form:not([hidden])")
    await row.wait_for(state="detached")
    assert "13900000000" in await page.inner_text("#my-call")

    # Inline validation: no location and no severity yet.
    await page.click("#incident-form button[type=submit]")
    assert await page.locator("#incident-form .field-error").count() >= 2
    assert "invalid" in (await page.get_attribute("select[name=severity]", "class") or "")
    listed = await hub.http.get("/api/v1/incidents")
    assert listed.json() == []

    # Location by a click on the map...
    await page.click("#pick")
    box = await page.locator("#map").bounding_box()
    await page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.6)
    lat = float(await page.input_value("input[name=lat]"))
    lon = float(await page.input_value("input[name=lon]"))
    assert 33.9 < lat < 34.4, lat
    assert 108.3 < lon < 109.1, lon
    assert await page.locator(".incident-icon").count() == 1
    # ...then exact coordinates from the caller: inside the sealed compound.
    await page.fill("input[name=lat]", str(SEALED_POINT[0]))
    await page.fill("input[name=lon]", str(SEALED_POINT[1]))
    await page.fill("input[name=address]", "鱼化寨街道 3 号楼 2 单元")
    await page.select_option("select[name=severity]", "critical")
    await page.select_option("select[name=category]", "pregnant")
    await page.select_option("select[name=infection_status]", "suspected")
    await page.check("input[name=flag_fever]")
    await page.fill("input[name=complaint]", "胸闷，发热")
    await page.click("#incident-form button[type=submit]")
    await page.wait_for_selector("#decision .decision")
    assert await page.locator("#incident-form .field-error").count() == 0

    [incident] = (await hub.http.get("/api/v1/incidents")).json()
    assert incident["call_ids"] == [call["id"]]
    assert (incident["severity"], incident["category"], incident["infection_status"]) == (
        "critical", "pregnant", "suspected")
    assert (incident["lat"], incident["lon"]) == SEALED_POINT
    assert incident["flags"]["fever"] is True
    decision = incident["decision"]
    shown = page.locator("#decision")
    assert decision["destination"]["name"] in await shown.locator(".dest").inner_text()  # English
    assert await shown.locator(".transport").inner_text() == "Negative-pressure ambulance"
    assert "Sealed area" in await shown.inner_text()
    assert decision["destination"]["reason_en"] in await shown.inner_text()
    why = shown.locator("ol li")
    deciding = [r for r in decision["matched_rules"] if r["decided"]]  # rules that decided it
    assert await why.count() == len(deciding) > 0
    for index, rule in enumerate(deciding):
        text = await why.nth(index).inner_text()
        assert await why.nth(index).get_attribute("data-rule") == rule["id"]
        if ":" not in rule["id"]:  # the rule file's rules by id; the hub's guards by their seed
            assert rule["id"] in text
            assert rule["description"] in text
        assert "zone_status=" not in text  # the facts in the console's words
    assert ("Severity: Critical · Zone: Sealed area (Yuhuazhai compound (demo))"
            in await shown.locator("ol").inner_text())
    await assert_fits(page, "#decision-panel", "#incident-panel", "#map")
    assert await page.locator("#decision-panel").is_visible()
    await shot(page, "console-incident.png")
    assert log.errors == []


async def test_a_stroke_call_with_its_onset_goes_to_a_stroke_centre_outside_the_sealed_area(
    browser: Any, hub: Hub, log: Log
) -> None:
    """Seed 003 2: a critical stroke in a sealed area goes to the nearest stroke centre, not the
    yellow-code hospital (which has none); the console shows the pathway and the onset."""
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(page)
    await log_in_position(page)
    call = await hub.ring("13900000002")
    await page.locator(f"#ringing li[data-call='{call['id']}'] button.answer").click()
    await page.wait_for_selector("#incident-form:not([hidden])")
    await page.fill("input[name=address]", "鱼化寨街道 5 号楼 1 单元")
    await page.fill("input[name=lat]", str(SEALED_POINT[0]))
    await page.fill("input[name=lon]", str(SEALED_POINT[1]))
    await page.select_option("select[name=protocol]", "stroke")
    await page.fill("input[name=complaint]", "右侧肢体无力，说话含糊")
    await page.fill("input[name=age_years]", "68")
    await page.select_option("select[name=sex]", "male")
    onset = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=50)
    local = onset.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")  # the page's time zone
    await page.fill("input[name=last_known_well]", local)
    await page.check("input[name=sign_face_arm_speech]")
    await page.select_option("select[name=severity]", "critical")
    await page.click("#incident-form button[type=submit]")
    await page.wait_for_selector("#decision .pathway")

    [incident] = (await hub.http.get("/api/v1/incidents")).json()
    triage = incident["triage"]
    assert triage["protocol"] == "stroke"
    assert (triage["age_years"], triage["sex"]) == (68, "male")
    assert triage["danger_signs"] == ["face_arm_speech"]
    assert datetime.fromisoformat(triage["last_known_well"]) == onset
    assert incident["complaint"] == "右侧肢体无力，说话含糊"
    decision = incident["decision"]
    assert decision["destination"]["hospital_id"] == "xian-medical-university-first"
    assert decision["pathway"]["id"] == "stroke"
    assert decision["pathway"]["outside_rule_set"] is True
    assert 50 <= decision["pathway"]["onset_minutes"] <= 52
    assert "als" in decision["required_unit_capabilities"]
    shown = page.locator("#decision")
    assert "Stroke" in await shown.locator(".pathway").inner_text()
    assert "stroke centre" in await shown.locator(".pathway").inner_text()
    assert f"{decision['pathway']['onset_minutes']} min ago" in await shown.locator(".onset").inner_text()
    assert "has no stroke centre" in await shown.inner_text()
    assert "yellow_code" not in await shown.inner_text()
    await page.locator("#decision-panel").scroll_into_view_if_needed()
    await shot(page, "console-stroke.png")
    assert log.errors == []


async def test_a_caller_sent_to_a_fever_clinic_sees_its_phone_hours_and_distance(
    browser: Any, hub: Hub, log: Log
) -> None:
    """Seed 001/003: a non-urgent fever without danger signs goes to the nearest fever clinic."""
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(page)
    await log_in_position(page)
    call = await hub.ring("13900000001")
    await page.locator(f"#ringing li[data-call='{call['id']}'] button.answer").click()
    await page.wait_for_selector("#incident-form:not([hidden])")
    await page.fill("input[name=lat]", str(PRECAUTION_POINT[0]))
    await page.fill("input[name=lon]", str(PRECAUTION_POINT[1]))
    await page.fill("input[name=address]", "丈八街道 科技路 5 号")
    await page.select_option("select[name=severity]", "non_urgent")
    await page.check("input[name=flag_fever]")
    await page.click("#incident-form button[type=submit]")
    await page.wait_for_selector("#decision .referral")
    [incident] = (await hub.http.get("/api/v1/incidents")).json()
    decision = incident["decision"]
    assert decision["outcome"] == "refer"
    referral = decision["referral"]
    shown = page.locator("#decision")
    assert referral["name"] in await shown.locator(".referral").inner_text()  # English
    phone = await shown.locator(".phone").inner_text()
    assert phone == (referral["phone"] or "Not known")
    hours = await shown.locator(".hours").inner_text()
    assert hours == {"24h": "24 hours", None: "Not known"}.get(referral["hours"], referral["hours"])
    distance = await shown.locator(".distance").inner_text()
    assert distance.startswith(f"{referral['distance_km']:.1f} km")
    await assert_fits(page, "#decision-panel")
    await shot(page, "console-referral.png")
    assert log.errors == []


async def test_the_console_shows_what_it_missed_while_its_connection_was_down(
    browser: Any, hub: Hub, log: Log
) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(page)
    await page.wait_for_selector("#connection.online")
    assert await page.is_hidden("#offline-banner")
    await log_in_position(page)
    before = await hub.ring("13700000000")
    await page.wait_for_selector(f"#ringing li[data-call='{before['id']}']")

    with log.expecting(NETWORK_DOWN):
        # The network goes quietly: no close frame reaches either side.
        await page.context.set_offline(True)
        assert hub.drop_sockets("console") == 1
        missed = [await hub.ring("13700000001"), await hub.ring("13700000002", priority=True)]
        await page.wait_for_selector("#offline-banner:not([hidden])", timeout=6000)
        assert "reconnecting" in await page.inner_text("#offline-banner")
        assert "Offline" in await page.inner_text("#connection")
        await shot(page, "console-offline.png")
        for call in missed:
            assert await page.locator(f"#ringing li[data-call='{call['id']}']").count() == 0
        # Answering needs the hub.
        assert await page.locator("#ringing button.answer:enabled").count() == 0
        await page.context.set_offline(False)
        await page.wait_for_selector("#connection.online", timeout=8000)
    for call in missed:
        await page.wait_for_selector(f"#ringing li[data-call='{call['id']}']", timeout=3000)
    assert await page.is_hidden("#offline-banner")
    assert await page.locator("#ringing button.answer:enabled").count() == 3
    # The priority call is at the top, the call rung before the outage still listed.
    ids = await page.eval_on_selector_all("#ringing li[data-call]", "els => els.map(e => e.dataset.call)")
    assert ids == [missed[1]["id"], before["id"], missed[0]["id"]]

    # The hub closing the socket itself (an instance restarting): back within a second or two.
    assert hub.drop_sockets("console") == 1
    after = await hub.ring("13700000003")
    await page.wait_for_selector(f"#ringing li[data-call='{after['id']}']", timeout=5000)
    await page.wait_for_selector("#connection.online")
    assert log.errors == []


async def test_labels_switch_between_chinese_and_english(browser: Any, hub: Hub, log: Log) -> None:
    page = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log, lang="zh")
    await ready(page)
    board = page.locator("#board tr[data-unit='GX-01']")
    zh = {"h1": "120 调度台", "#ringing-panel h2": "振铃队列", "#ringing": "暂无振铃电话",
          "#lang": "English", "#board-panel h2": "车辆状态"}
    en = {"h1": "120 Dispatch console", "#ringing-panel h2": "Ringing calls",
          "#ringing": "No calls ringing", "#lang": "中文", "#board-panel h2": "Unit board"}

    async def labels() -> dict[str, str]:
        return {selector: (await page.inner_text(selector)).strip() for selector in zh}

    assert await labels() == zh
    assert await page.get_attribute("html", "lang") == "zh-CN"
    assert "待命" in await board.inner_text()
    assert "丈八社区卫生服务中心" in await board.inner_text()
    await page.click("#lang")
    assert await labels() == en
    assert await page.get_attribute("html", "lang") == "en"
    assert "Available" in await board.inner_text()
    assert "Zhangba Community Health Centre" in await board.inner_text()
    await page.reload()
    await ready(page)
    assert await labels() == en  # the choice is remembered
    await page.click("#lang")
    assert await labels() == zh
    assert log.errors == []


async def test_the_crew_tablet_pairs_with_its_device_token_and_shows_its_unit(
    browser: Any, hub: Hub, log: Log
) -> None:
    token = await hub.crew_token("GX-01")
    page = await new_page(browser, hub, f"/crew/#token={token}", size=CREW_SIZE, log=log,
                          token=None)
    await ready(page)
    assert await page.evaluate("location.hash") == ""  # the token leaves the address bar
    assert await page.evaluate("localStorage.getItem('dispatch.device-token')") == token
    assert await page.inner_text("#unit-name") == "高新01"
    assert await page.inner_text("#unit-status") == "Available"
    assert await page.inner_text("#job .job-title") == "No job"
    assert await page.is_hidden("#ack")
    assert await page.is_hidden("#offline")
    button = page.locator("#statuses button[data-status=out_of_service]")
    assert await button.inner_text() == "Out of service"
    layout = await assert_fits(page, ".crew-bar", "#job", "#statuses",
                               "#statuses button[data-status=out_of_service]", "#share-position")
    assert layout["boxes"]["#statuses button[data-status=out_of_service]"]["height"] >= 64
    await shot(page, "crew.png")

    # A reload keeps the pairing.
    await page.reload()
    await ready(page)
    assert await page.inner_text("#unit-name") == "高新01"

    with log.expecting(NETWORK_DOWN):
        await page.context.set_offline(True)
        await page.wait_for_selector("#offline:not([hidden])", timeout=6000)
        assert "Offline" in await page.inner_text("#offline")
        await shot(page, "crew-offline.png")
        await page.context.set_offline(False)
        await page.wait_for_selector("#offline", state="hidden", timeout=8000)

    await page.click("#lang")
    assert await page.inner_text("#job .job-title") == "暂无任务"
    assert await page.inner_text("#unit-status") == "待命"

    # A tablet with no token asks for one.
    unpaired = await new_page(browser, hub, "/crew/", size=CREW_SIZE, log=log, token=None)
    await unpaired.wait_for_selector("#pair:not([hidden])")
    assert await unpaired.is_hidden("main")

    # A revoked token: the tablet asks to be paired again and stops knocking on the socket.
    devices = (await hub.http.get("/api/v1/devices")).json()
    [device] = [d for d in devices if d["name"] == "tablet GX-01"]
    assert (await hub.http.post(f"/api/v1/devices/{device['id']}/revoke")).status_code == 204
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    with log.expecting(UNAUTHORIZED):
        hub.drop_sockets("crew")
        await page.wait_for_selector("#pair:not([hidden])", timeout=10000)
        assert await page.inner_text("#pair-message")
        tried = len(sockets)
        await page.wait_for_timeout(4000)
    assert len(sockets) == tried
    assert await page.evaluate("window.dispatchCrew.socket.stopped") is True
    assert log.errors == []



@pytest.fixture
async def fleet_hub(settings: Settings, redis: Any, committed: Any) -> AsyncIterator[Hub]:
    """A hub whose fleet the console dispatches and the crew works."""
    async with served_hub(settings) as served:
        assert await served.has_fleet("GX-01")
        yield served


def reads_of(page: Any) -> Counter[str]:
    """GET requests the page sends to the API from now on, by path."""
    seen: Counter[str] = Counter()

    def count(request: Any) -> None:
        path = urlsplit(request.url).path
        if request.method == "GET" and path.startswith("/api/"):
            seen[path] += 1

    page.on("request", count)
    return seen


async def test_a_job_goes_from_the_console_to_the_crew_tablet_and_its_status_back_to_the_board(
    browser: Any, fleet_hub: Hub, log: Log
) -> None:
    hub = fleet_hub
    console = await new_page(browser, hub, "/console/", size=CONSOLE_SIZE, log=log)
    await ready(console)
    await log_in_position(console)
    console_reads = reads_of(console)
    call = await hub.ring("13600000000")
    await console.click(f"#ringing li[data-call='{call['id']}'] button.answer")
    await console.wait_for_selector("#incident-form:not([hidden])")
    await console.fill("input[name=lat]", str(ZHANGBA_POINT[0]))
    await console.fill("input[name=lon]", str(ZHANGBA_POINT[1]))
    await console.fill("input[name=address]", "丈八街道 锦业路 12 号")
    await console.select_option("select[name=severity]", "urgent")
    await console.fill("input[name=complaint]", "腹痛")
    await console.click("#incident-form button[type=submit]")
    await console.wait_for_selector("#decision .decision")
    top = console.locator("#recommendations tr.top")
    await top.wait_for()
    unit_id = await top.get_attribute("data-unit")
    assert unit_id
    board = console.locator(f"#board tr[data-unit='{unit_id}'] .status")
    assert await board.inner_text() == "Available"
    [incident] = (await hub.http.get("/api/v1/incidents")).json()
    destination = incident["decision"]["destination"]
    # The map marks the chosen hospital and the patient's way to it.
    label = console.locator(".map-label.dest-label")
    await label.wait_for()
    assert await label.inner_text() == destination["name"]  # the console is in English

    # The crew tablet of the recommended unit, open in a second browser context.
    crew = await new_page(browser, hub, f"/crew/#token={await hub.crew_token(unit_id)}",
                          size=CREW_SIZE, log=log, token=None)
    await ready(crew)
    assert await crew.inner_text("#job .job-title") == "No job"
    crew_reads = reads_of(crew)

    await top.locator("button[data-assign]").click()
    await console.wait_for_selector("#recommendations .dispatched")
    assert await console.locator("#recommendations button[data-assign]:enabled").count() == 0
    await crew.wait_for_selector("#job .job .dest")
    assert await crew.inner_text("#job .job-title") == "丈八街道 锦业路 12 号"
    assert await crew.inner_text("#job .dest") == destination["name"]  # English
    assert "腹痛" in await crew.inner_text("#job")
    await crew.wait_for_selector("#ack:not([hidden])")
    assert re.fullmatch(r"\d+:\d\d", await crew.inner_text("#countdown"))
    await console.wait_for_selector(f"#board tr[data-unit='{unit_id}'] .status.assigned")
    await shot(crew, "crew-job.png")

    await crew.click("#ack-button")
    await crew.wait_for_selector("#ack", state="hidden")
    await console.wait_for_selector(f"#board tr[data-unit='{unit_id}'] .status.acknowledged")
    await crew.click("#statuses button[data-status=en_route]")
    await console.wait_for_selector(f"#board tr[data-unit='{unit_id}'] .status.en_route")
    await crew.wait_for_selector("#unit-status.en_route")

    # Offline in a tunnel: the change waits on the tablet and goes out on reconnect.
    with log.expecting(NETWORK_DOWN):
        await crew.context.set_offline(True)
        await crew.wait_for_selector("#offline:not([hidden])", timeout=6000)
        await crew.click("#statuses button[data-status=on_scene]")
        assert "Waiting to send: On scene" in await crew.inner_text("#offline")
        assert await board.inner_text() == "En route"
        await crew.context.set_offline(False)
        await crew.wait_for_selector("#offline", state="hidden", timeout=8000)
    await console.wait_for_selector(f"#board tr[data-unit='{unit_id}'] .status.on_scene")
    await crew.click("#statuses button[data-status=transporting]")
    await console.wait_for_selector(f"#board tr[data-unit='{unit_id}'] .status.transporting")
    assert await board.inner_text() == "Transporting"
    await shot(console, "console-dispatched.png")
    # The handover panel says the patient is on the way (not "en route"), with the ETA.
    stage = console.locator("#handovers li[data-handover] .stage")
    await stage.wait_for()
    assert "Transporting" in await stage.inner_text()
    # The call ends with a unit on its way: the desk is cleared, no dispatch button is left.
    await console.click("#hang-up")
    await console.wait_for_selector("#incident-form", state="hidden")
    assert await console.locator("#recommendations button[data-assign]").count() == 0
    assert await console.locator("#decision .decision").count() == 0
    assert log.errors == []
    # Neither client multiplies the load: events update them, with one targeted read when
    # they bring something new (a job, a routing decision), never a re-read on every event.
    incident_path = f"/api/v1/incidents/{incident['id']}"
    assert crew_reads["/api/v1/units"] == 0
    assert crew_reads[f"/api/v1/units/{unit_id}/job"] <= 2, crew_reads
    assert crew_reads[f"/api/v1/units/{unit_id}"] <= 3, crew_reads
    assert console_reads[incident_path] <= 1, console_reads
    assert console_reads[f"{incident_path}/recommendations"] <= 3, console_reads
